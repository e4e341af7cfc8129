"""Drives a running `tapedeck server` with the unmodified toxiproxy-python
client and checks, through real traffic, that every change takes effect.

Usage: toxiproxy_client_check.py API_PORT ECHO_UPSTREAM
ECHO_UPSTREAM is HOST:PORT of a server that echoes and closes after the
client half-closes. Prints one line per step; exits non-zero on failure.
"""
import socket
import sys
import time

from toxiproxy import Toxiproxy
from toxiproxy.exceptions import NotFound, ProxyExists

api_port = int(sys.argv[1])
upstream = sys.argv[2]
MESSAGE = b"hello from toxiproxy-python"


def step(text):
    print("step: " + text, flush=True)


def endpoint(listen):
    host, port = listen.rsplit(":", 1)
    return host, int(port)


def exchange(listen):
    """Seconds from connect until the echo is back; then half-close and read to the end."""
    start = time.monotonic()
    with socket.create_connection(endpoint(listen), timeout=5) as sock:
        sock.sendall(MESSAGE)
        received = b""
        while len(received) < len(MESSAGE):
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
        elapsed = time.monotonic() - start
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass
    assert received == MESSAGE, "echo came back as %r" % received
    return elapsed


def refused(listen):
    try:
        socket.create_connection(endpoint(listen), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


server = Toxiproxy()
server.update_api_consumer("127.0.0.1", api_port)
assert server.running(), "the API is not reachable"
step("version " + server.version().decode())

proxy = server.create(upstream=upstream, name="echo")
assert proxy.enabled is True
assert not proxy.listen.endswith(":0"), "listen port not resolved: " + proxy.listen
listen = proxy.listen
step("created echo on " + listen)
assert set(server.proxies()) == {"echo"}
fast = exchange(listen)
assert fast < 0.1, "without toxics took %.3f s" % fast
step("plain round trip %.1f ms" % (fast * 1000))

try:
    server.create(upstream=upstream, name="echo")
    raise AssertionError("a second proxy with the same name was accepted")
except ProxyExists:
    step("duplicate refused")

proxy.add_toxic(type="latency", attributes={"latency": 200})
toxics = proxy.toxics()
assert list(toxics) == ["latency_downstream"], toxics
assert toxics["latency_downstream"].attributes["latency"] == 200
slow = exchange(listen)
assert 0.2 <= slow < 0.5, "with 200 ms latency took %.3f s" % slow
step("latency toxic round trip %.1f ms" % (slow * 1000))

try:
    proxy.add_toxic(type="latency", name="latency_downstream", stream="upstream")
    raise AssertionError("a duplicate toxic name was accepted")
except ProxyExists:
    step("duplicate toxic refused")

proxy.destroy_toxic("latency_downstream")
assert proxy.toxics() == {}
fast = exchange(listen)
assert fast < 0.1, "after removing the toxic took %.3f s" % fast
step("toxic removed, round trip %.1f ms" % (fast * 1000))

proxy.disable()
assert server.get_proxy("echo").enabled is False
assert refused(listen), "a disabled proxy accepted a connection"
step("disabled: connection refused")
proxy.enable()
assert server.get_proxy("echo").listen == listen
exchange(listen)
step("enabled: traffic flows")

with proxy.down():
    assert refused(listen), "a proxy taken down accepted a connection"
exchange(listen)
step("down() context manager")

proxy.add_toxic(type="latency", name="slow", stream="upstream", toxicity=1.0, attributes={"latency": 200})
proxy.disable()
assert server.reset() is True
assert server.get_proxy("echo").enabled is True
assert proxy.toxics() == {}
fast = exchange(listen)
assert fast < 0.1, "after reset took %.3f s" % fast
step("reset: enabled, no toxics")

try:
    server.get_proxy("echo").get_toxic("missing")
    proxy.destroy_toxic("missing")
    raise AssertionError("removing a missing toxic succeeded")
except NotFound:
    step("missing toxic is 404")

populated = server.populate([{"name": "second", "upstream": upstream, "listen": "127.0.0.1:0"}])
assert [p.name for p in populated] == ["second"]
exchange(populated[0].listen)
step("populate")

assert proxy.destroy() is True
assert server.get_proxy("echo") is None
assert refused(listen), "a destroyed proxy accepted a connection"
server.destroy_all()
assert server.proxies() == {}
step("destroyed")
print("OK", flush=True)
