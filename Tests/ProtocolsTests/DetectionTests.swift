import NIOCore
import Testing

@testable import Protocols

@Suite("Protocol detection from the first bytes")
struct DetectionTests {
    @Test(
        "first client bytes decide, or ask for more",
        arguments: [
            ("GET / HTTP/1.1\r\n", ProtocolKind?.some(.http)),
            ("PATCH /x HTTP/1.1", .http),
            ("GE", nil),
            // Redis inline commands that begin as HTTP methods do; the version tells them apart.
            ("GET k1\r\nSET k1 v1\r\n", .redis),
            ("GET /a-long-path-with-no-end-yet", nil),
            ("*1\r\n$4\r\nPING\r\n", .redis),
            ("*", nil),
            ("ping\r\n", .redis),
            ("HELLO 3\r\n", .redis),
            ("PIN", nil),
            ("SSH-2.0-OpenSSH_9.2\r\n", .generic),
            ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .generic),
            ("\u{16}\u{3}\u{1}\u{2}\0\u{1}\0\u{1}\u{fc}\u{3}\u{3}", .generic),
        ]
    )
    func client(bytes: String, expected: ProtocolKind?) {
        #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer(string: bytes)) == expected)
    }

    @Test("PostgreSQL startup, SSLRequest, GSSENCRequest and CancelRequest")
    func postgres() {
        let startups: [[UInt8]] = [
            [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F],
            [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30],
            [0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 0, 0, 0, 1, 0, 0, 0, 2],
            [0, 0, 0, 0x29, 0, 3, 0, 0] + Array("user\0app\0".utf8),
            [0, 0, 0, 0x29, 0, 3, 0, 2],
        ]
        for bytes in startups {
            #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer(bytes: bytes)) == .postgres)
        }
        #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer(bytes: [0, 0, 0])) == nil)
        #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer(bytes: [0, 0, 0, 8, 0, 2, 0, 0])) == .generic)
    }

    @Test("a server that speaks first is not one of the three")
    func serverFirst() {
        #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer(), serverFirstBytes: ByteBuffer(string: "220 mail ESMTP\r\n")) == .generic)
        #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer()) == nil)
    }

    @Test("every fixture is detected as what it is")
    func fixtures() throws {
        for (name, protocolKind) in Specimens.fixtures {
            let transcript = try Transcript.fixture(name)
            let first = try #require(transcript.chunks.first { $0.side == .client })
            #expect(ProtocolKind.detect(clientFirstBytes: ByteBuffer(bytes: first.bytes)) == protocolKind, "\(name)")
        }
    }

    @Test("the --protocol words")
    func words() {
        #expect(ProtocolKind.allCases.map(\.rawValue) == ["http", "redis", "postgres", "generic"])
        #expect(ProtocolKind(rawValue: "redis") == .redis)
    }
}
