#!/usr/bin/env python3
"""Opens a report page in headless Chromium and says, as JSON, what its DOM shows.

Speaks the DevTools protocol over a WebSocket with nothing but the standard
library: loads the page from disk, waits for its script to finish drawing,
reads the timeline's bars, optionally clicks one session's bar with a real
mouse event, reads the session view, and writes a screenshot.

usage: cdp.py PAGE.html [--click SESSION] [--screenshot OUT.png] [--chromium PATH]
"""
import argparse, base64, json, os, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.request


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("the browser closed the WebSocket during its handshake")
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("WebSocket handshake refused: " + head.decode(errors="replace"))

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed the WebSocket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 8:
                raise RuntimeError("the browser closed the WebSocket")
            if opcode in (0, 1, 2):
                message += payload
                if first & 0x80:
                    return message.decode()


class Browser:
    def __init__(self, chromium, width, height):
        self.profile = tempfile.mkdtemp(prefix="tapedeck-chromium-")
        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(open(port_file).read().split("\n")[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("page script failed: " + json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    def wait_for(self, expression, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


READ_DOM = """(() => {
  const box = document.getElementById("timeline");
  const rects = Array.from(document.querySelectorAll("#timeline rect.bar"));
  return {
    mode: box.dataset.mode, bars: Number(box.dataset.bars), barElements: rects.length,
    rows: Number(box.dataset.rows),
    barList: rects.map(r => ({ session: Number(r.dataset.session), end: r.dataset.end, fill: r.getAttribute("fill"),
                               color: getComputedStyle(r).fill })),
    faultMarks: document.querySelectorAll("#timeline .fault-mark").length,
    legend: Array.from(document.querySelectorAll(".legend .key")).map(k => ({ label: k.textContent, color: k.querySelector("i").style.background })),
    title: document.title,
    facts: Object.fromEntries(Array.from(document.querySelectorAll("[data-fact]")).map(d => [d.dataset.fact, d.textContent])),
    exchangeRows: document.querySelectorAll("#exchanges tbody tr").length,
    exchangesTitle: document.getElementById("exchanges-title").textContent,
    latencyStats: document.getElementById("latency-stats").textContent,
    replayHidden: document.getElementById("replay-section").hidden,
    replayText: document.getElementById("replay").innerText,
    drawMs: Number(document.body.dataset.drawMs),
    throughputBins: Number(document.getElementById("throughput").dataset.bins),
    externalResources: Array.from(document.querySelectorAll("[src],link[href]")).map(e => e.getAttribute("src") || e.getAttribute("href")),
  };
})()"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("page")
    parser.add_argument("--click", type=int)
    parser.add_argument("--screenshot")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--wait-refresh", action="store_true", help="a live page: wait for its first refresh and read it again")
    args = parser.parse_args()
    browser = Browser(args.chromium, args.width, args.height)
    try:
        browser.call("Page.enable")
        browser.call("Emulation.setDeviceMetricsOverride", width=args.width, height=args.height, deviceScaleFactor=1, mobile=False)
        started = time.time()
        url = args.page if args.page.startswith("http") else "file://" + os.path.abspath(args.page)
        browser.call("Page.navigate", url=url)
        if not browser.wait_for("document.readyState === 'complete' && document.body && document.body.dataset.ready === '1'", 120):
            raise RuntimeError("the page's script did not finish drawing: " + str(browser.evaluate("document.body && document.body.innerText.slice(0, 500)")))
        result = browser.evaluate(READ_DOM)
        result["loadSeconds"] = round(time.time() - started, 3)
        if args.screenshot:
            shot = browser.call("Page.captureScreenshot", format="png")
            open(args.screenshot, "wb").write(base64.b64decode(shot["data"]))
        if args.click is not None:
            center = browser.evaluate(f"(() => {{ window.scrollTo(0, 0); document.getElementById('timeline').scrollIntoView(); return window.tapedeckReport.barCenter({args.click}); }})()")
            if center is None:
                raise RuntimeError(f"session {args.click} has no bar")
            for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                browser.call("Input.dispatchMouseEvent", type=kind, x=center["x"], y=center["y"], button="left", clickCount=1)
            browser.wait_for("!document.getElementById('detail-section').hidden", 10)
            result["clicked"] = browser.evaluate("""(() => {
              const section = document.getElementById("detail-section");
              const first = document.querySelector("#detail .exchange");
              return { hidden: section.hidden, session: section.dataset.session === undefined ? null : Number(section.dataset.session),
                       title: document.getElementById("detail-title").textContent,
                       firstRequestText: first ? first.querySelector(".side.client pre.text").textContent : null,
                       firstRequestHex: first ? first.querySelector(".side.client pre.hex").textContent : null,
                       firstAnswerText: first && first.querySelector(".side.server pre.text") ? first.querySelector(".side.server pre.text").textContent : null,
                       exchanges: document.querySelectorAll("#detail .exchange").length,
                       gapRows: document.querySelectorAll("#detail tr.gap").length,
                       text: document.getElementById("detail").innerText.slice(0, 4000) };
            })()""")
            if args.screenshot:
                shot = browser.call("Page.captureScreenshot", format="png")
                open(args.screenshot.replace(".png", "-session.png"), "wb").write(base64.b64decode(shot["data"]))
        if args.wait_refresh:
            if not browser.wait_for("Number(document.body.dataset.refreshes || 0) >= 1", 30):
                raise RuntimeError("the live page did not refresh itself: " + str(browser.evaluate("document.getElementById('live-status').textContent")))
            result["afterRefresh"] = browser.evaluate(READ_DOM)
        json.dump(result, sys.stdout)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
