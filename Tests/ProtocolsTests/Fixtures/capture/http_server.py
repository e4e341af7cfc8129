"""A small HTTP/1.1 server for capturing fixtures: keep-alive, chunked with
trailers, HEAD, 204, 304, 100-continue (http.server answers Expect itself),
and a 101 upgrade after which it echoes raw bytes."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path.startswith("/users/"):
            self.send_body(200, b'{"id": 7, "name": "Ada"}')
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "Checksum")
            self.end_headers()
            for part in (b"first chunk, ", b"second chunk"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nChecksum: 42\r\n\r\n")
        elif self.path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("ETag", '"v1"')
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"hello")
        elif self.path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif self.path == "/socket":
            self.send_response(101)
            self.send_header("Upgrade", "echo")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(4096)
                if not data:
                    break
                self.connection.sendall(data.upper())
            self.close_connection = True
        else:
            self.send_body(404, b"not found\n", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.send_body(201, b'{"created": %d}' % len(body))


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
