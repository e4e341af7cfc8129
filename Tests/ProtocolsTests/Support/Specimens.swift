import Protocols

/// Every transcript the property and fuzz tests run: the captured fixtures,
/// and hand-written ones (from the protocol specs) for what no capture has.
enum Specimens {
    static let fixtures: [(name: String, protocol: ProtocolKind)] = [
        ("http-pipelined", .http), ("http-curl", .http),
        ("redis-cli", .redis), ("redis-pipelined", .redis), ("redis-inline", .redis), ("redis-resp3", .redis),
        ("redis-pubsub-0", .redis), ("redis-pubsub-1", .redis), ("redis-pubsub-2", .redis),
        ("postgres-simple", .postgres), ("postgres-copy", .postgres), ("postgres-extended", .postgres),
        ("postgres-listen-0", .postgres), ("postgres-listen-1", .postgres),
    ]

    /// Specimens that must fail to frame, and on which side: Redis itself
    /// rejected redis-inline's `ECHO 'it''s'` as a protocol error.
    static let failing: [String: Side] = ["redis-inline": .client]

    static let written: [(transcript: Transcript, protocol: ProtocolKind)] = [
        (
            Transcript(
                "http-chunked-trailers",
                client: [
                    "\r\nPOST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                    "OPTIONS * HTTP/1.1\nHost: x\n\n",
                ],
                server: [
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nuntil the end",
                ]
            ), .http
        ),
        (
            Transcript(
                "resp3-all-types",
                client: ["*1\r\n$5\r\nHELLO\r\nDEBUG PROTOCOL attrib\r\n"],
                server: ["%1\r\n+proto\r\n:3\r\n|1\r\n+a\r\n#t\r\n~2\r\n(123\r\n=7\r\nmkd:x y\r\n>2\r\n+pubsub\r\n_\r\n!3\r\nERR\r\n,nan\r\n*-1\r\n$-1\r\n"]
            ), .redis
        ),
        (
            Transcript("postgres-gss-then-ssl-refused", [
                .init(side: .client, bytes: [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30], time: .milliseconds(0)),
                .init(side: .server, bytes: Array("N".utf8), time: .milliseconds(1)),
                .init(side: .client, bytes: [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F], time: .milliseconds(2)),
                .init(side: .server, bytes: Array("N".utf8), time: .milliseconds(3)),
                .init(side: .client, bytes: Array("\0\0\0\u{10}\0\u{3}\0\0user\0x\0\0".utf8), time: .milliseconds(4)),
                .init(side: .server, bytes: Array("R\0\0\0\u{8}\0\0\0\0Z\0\0\0\u{5}I".utf8), time: .milliseconds(5)),
                .init(side: .client, bytes: Array("Q\0\0\0\u{d}SELECT 1\0".utf8), time: .milliseconds(6)),
                .init(side: .server, bytes: Array("E\0\0\0\u{8}Mx\0\0Z\0\0\0\u{5}I".utf8), time: .milliseconds(7)),
            ]), .postgres
        ),
        (
            Transcript("generic-smtp", [
                .init(side: .server, bytes: Array("220 mail ESMTP\r\n".utf8), time: .milliseconds(0)),
                .init(side: .client, bytes: Array("EHLO me\r\n".utf8), time: .milliseconds(1)),
                .init(side: .server, bytes: Array("250 ok\r\n".utf8), time: .milliseconds(2)),
                .init(side: .client, bytes: Array("QUIT\r\n".utf8), time: .milliseconds(3)),
                .init(side: .server, bytes: Array("221 bye\r\n".utf8), time: .milliseconds(4)),
            ]), .generic
        ),
    ]

    /// All of them, loaded.
    static func all() throws -> [(transcript: Transcript, protocol: ProtocolKind)] {
        try fixtures.map { (try Transcript.fixture($0.name), $0.protocol) } + written
    }
}
