import NIOCore
import Testing

@testable import Protocols

@Suite("HTTP/1 framing")
struct HTTPFramerTests {
    @Test("pipelined requests: Content-Length, chunked with trailers, and a bodiless 204")
    func pipelined() throws {
        let requests = [
            "GET /users/7?expand=teams HTTP/1.1\r\nHost: api.example\r\nAccept: application/json\r\n\r\n",
            "POST /users HTTP/1.1\r\nHost: api.example\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"name\":\"Ada\"}\n",
            "PUT /upload HTTP/1.1\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nChecksum: abc\r\n\r\n",
            "DELETE /users/7 HTTP/1.1\r\nHost: api.example\r\n\r\n",
        ]
        let responses = [
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"id\":7}\r\n",
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n",
        ]
        let framed = Framed(Transcript("pipelined", [
            .init(side: .client, bytes: Array(requests.joined().utf8), time: .zero),
            .init(side: .server, bytes: Array(responses.joined().utf8), time: .milliseconds(1)),
        ]), as: .http)
        #expect(framed.stop == nil)
        #expect(framed.side(.client).map(\.text) == requests)
        #expect(framed.side(.server).map(\.text) == responses)
        let upload = try #require(framed.side(.client)[2].http)
        #expect(upload.bodyFraming == .chunked)
        #expect(String(buffer: upload.body) == "hello, world")
        #expect(upload.trailers == [HTTPMessage.Field(name: "Checksum", value: "abc")])
        #expect(framed.side(.client)[1].http?.bodyFraming == .contentLength(15))
        #expect(framed.side(.server)[1].http.map { String(buffer: $0.body) } == "Wiki")
        #expect(framed.side(.server)[3].http?.bodyFraming == HTTPMessage.BodyFraming.none)
    }

    @Test("a response to HEAD has no body whatever its Content-Length; 304 neither")
    func headAndNotModified() {
        let requests = ["HEAD /big.iso HTTP/1.1\r\nHost: a\r\n\r\n", "GET /logo.png HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"]
        let responses = [
            "HTTP/1.1 200 OK\r\nContent-Length: 4700000000\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ]
        let framed = Framed(Transcript("head", client: requests, server: responses), as: .http)
        #expect(framed.stop == nil)
        #expect(framed.side(.server).map(\.text) == responses)
    }

    @Test("100-continue: the interim response and the final one both answer the request")
    func expectContinue() throws {
        let transcript = Transcript("continue", [
            .init(side: .client, bytes: Array("POST /data HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8), time: .zero),
            .init(side: .server, bytes: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), time: .milliseconds(1)),
            .init(side: .client, bytes: Array("data".utf8), time: .milliseconds(2)),
            .init(side: .server, bytes: Array("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".utf8), time: .milliseconds(3)),
        ])
        let framed = Framed(transcript, as: .http)
        #expect(framed.side(.client).count == 1)
        #expect(framed.side(.server).map { $0.http?.status } == [100, 201])
        let items = ExchangePairer.pair(framed.messages, protocol: .http)
        #expect(items.count == 1)
        #expect(try #require(items.first?.exchange).responses.count == 2)
    }

    @Test("101 Switching Protocols: the rest of the connection is opaque turns")
    func upgrade() {
        let request = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        let transcript = Transcript("upgrade", [
            .init(side: .client, bytes: Array(request.utf8) + [0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6F, 0x68, 0x6E], time: .zero),
            .init(side: .server, bytes: Array(response.utf8) + [0x81, 0x02, 0x68, 0x69], time: .milliseconds(1)),
        ])
        let framed = Framed(transcript, as: .http)
        #expect(framed.stop == .opaque(.upgraded))
        #expect(framed.side(.client).map(\.content.isTurn) == [false, true])
        #expect(framed.side(.client).first?.text == request)
        #expect(framed.side(.server).first?.text == response)
        #expect(Array(framed.side(.server)[1].raw.readableBytesView) == [0x81, 0x02, 0x68, 0x69])
    }

    @Test("an upgrade the server declines leaves the connection HTTP")
    func upgradeDeclined() {
        let requests = ["GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n", "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"]
        let responses = ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]
        let framed = Framed(Transcript("declined", [
            .init(side: .client, bytes: Array(requests.joined().utf8), time: .zero),
            .init(side: .server, bytes: Array(responses.joined().utf8), time: .zero),
        ]), as: .http)
        #expect(framed.stop == nil)
        #expect(framed.side(.client).map(\.text) == requests)
    }

    @Test("CONNECT answered 200 becomes a tunnel")
    func connectTunnel() {
        let framed = Framed(Transcript("connect", client: ["CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n\u{16}\u{3}\u{1}"], server: ["HTTP/1.1 200 Connection established\r\n\r\n\u{16}\u{3}\u{3}"]), as: .http)
        #expect(framed.stop == .opaque(.upgraded))
        #expect(framed.side(.client).count == 2)
        #expect(framed.side(.server).count == 2)
    }

    @Test("HTTP/1.0 response without a length runs to the end of the connection")
    func untilClose() throws {
        let framed = Framed(Transcript("1.0", client: ["GET / HTTP/1.0\r\n\r\n"], server: ["HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", "</html>"]), as: .http)
        #expect(framed.stop == nil)
        let response = try #require(framed.side(.server).first?.http)
        #expect(response.bodyFraming == .untilClose)
        #expect(String(buffer: response.body) == "<html></html>")
        #expect(framed.side(.client).first?.http?.keepsAlive == false)
    }

    @Test("a response with no request framed yet waits; at the end it is framed as unsolicited")
    func unsolicitedTimeout() {
        let framed = Framed(Transcript("408", client: [], server: ["HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"]), as: .http)
        #expect(framed.stop == nil)
        #expect(framed.side(.server).map { $0.http?.status } == [408])
        let items = ExchangePairer.pair(framed.messages, protocol: .http)
        #expect(items.count == 1)
        #expect(items.first?.exchange == nil)
    }

    @Test("a stream cut inside a body ends in a truncated message")
    func truncated() {
        let framed = Framed(Transcript("cut", client: ["POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"], server: []), as: .http)
        #expect(framed.side(.client).map(\.content) == [.truncated])
    }

    @Test(
        "bytes that are not HTTP/1 stop framing where they are, and fall back to turns",
        arguments: [
            ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 6),
            ("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0),
            ("GET /a HTTP/1.1\r\n\r\nG\u{1}T / HTTP/1.1\r\n\r\n", 20),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 47),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 47),
            ("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 19),
        ]
    )
    func failures(request: String, offset: Int) throws {
        let framed = Framed(Transcript("bad", client: [request], server: []), as: .http)
        let failure = try #require(framed.failure)
        #expect(failure.side == .client)
        #expect(failure.offset == offset, "\(failure)")
        #expect(framed.side(.client).flatMap { Array($0.raw.readableBytesView) } == Array(request.utf8))
    }

    @Test("a declared 2 GB body holds only the bytes that came, and ends truncated")
    func hugeDeclaredBody() throws {
        var framer = HTTPFramer()
        #expect(framer.feed(ByteBuffer(string: "PUT /disk.img HTTP/1.1\r\nContent-Length: 2147483648\r\n\r\nabc"), from: .client, at: .zero).isEmpty)
        let tail = framer.finish()
        #expect(tail.map(\.content) == [.truncated])
        #expect(tail.first?.raw.readableBytes == 57)
        #expect(try #require(tail.first?.raw).capacity < 4_096)
    }

    @Test("a head longer than the limit fails rather than waiting for ever")
    func headLimit() throws {
        let request = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200)
        let framed = Framed(Transcript("long", client: [request], server: []), as: .http, limits: FramingLimits(maximumHeadBytes: 100))
        #expect(try #require(framed.failure).code == .overLimit)
    }
}

extension Message.Content {
    var isTurn: Bool { self == .turn }
}
