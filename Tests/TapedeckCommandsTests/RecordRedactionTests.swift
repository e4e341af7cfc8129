import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck record --redact` as a user runs it: secrets sent in pieces, the
/// way slow clients and terminals send them, are masked in the pcap that
/// tshark reads; every pattern applies; a pattern that matches nothing is
/// refused before anything starts.
@Suite(.serialized) struct RecordRedactionTests {
    /// Sends `pieces` on one connection, `pause` apart, to the echo proxy,
    /// and returns what came back.
    static func send(_ pieces: [String], to endpoint: Endpoint, pause: Duration) async throws -> String {
        try await BlockingSocket.onThread {
            let socket = try BlockingSocket(connectingTo: endpoint)
            var echoed: [UInt8] = []
            for piece in pieces {
                try socket.send(Array(piece.utf8))
                echoed += try socket.read(exactly: piece.utf8.count)
                Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
            }
            socket.shutdownWrite()
            echoed += try socket.readToEnd()
            return String(decoding: echoed, as: UTF8.self)
        }
    }

    @Test func secretsSentInPiecesAreMaskedInThePcapTSharkReads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sample = try TapedeckProcess.sampleServer()
        defer { sample.process.stop() }
        let path = directory.file("redacted.pcap")
        let patterns = [#"password=\w+"#, #"token:[0-9]+"#, "Bearer [A-Za-z0-9]+"]
        let (recorder, listen) = try TapedeckProcess.proxy(
            ["record", "--listen", "127.0.0.1:0", "--upstream", sample.endpoint, "-w", path, "--quiet"] + patterns.flatMap { ["--redact", $0] }
        )
        // Two writes 100 ms apart, one byte at a time, and all at once.
        let sessions: [(pieces: [String], pause: Duration)] = [
            (["LOGIN ada pass", "word=hunter2 ok\r\n"], .milliseconds(100)),
            ("SEND token:987654321 done\r\n".map { String($0) }, .milliseconds(2)),
            (["GET / Authorization: Bearer abcDEF123\r\n"], .zero),
        ]
        for session in sessions {
            let text = session.pieces.joined()
            #expect(try await Self.send(session.pieces, to: listen, pause: session.pause) == text, "the live traffic is untouched")
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)

        let followed = try TShark.followEveryStream(path)
        #expect(followed.count == 3)
        let expected = [
            "LOGIN ada " + String(repeating: "*", count: 16) + " ok\r\n",
            "SEND " + String(repeating: "*", count: 15) + " done\r\n",
            "GET / Authorization: " + String(repeating: "*", count: 16) + "\r\n",
        ]
        // Both directions of each session, in whatever order tshark numbers the streams.
        let recorded = followed.map { $0.sent.map { String(decoding: $0, as: UTF8.self) } }
        #expect(recorded.sorted { $0[0] < $1[0] } == expected.sorted().map { [$0, $0] })
        let pcap = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        for secret in ["hunter2", "word=h", "987654321", "abcDEF123"] {
            #expect(!pcap.contains(secret), "\(secret) is nowhere in the file")
        }
        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.redact == patterns, "the manifest lists every pattern")
        let manifestText = try String(contentsOfFile: Manifest.path(forRecording: path), encoding: .utf8)
        #expect(!manifestText.contains("hunter2"))
    }

    @Test(arguments: ["", "x*", "(a|b)?", #"\b"#])
    func aPatternThatCanMatchNothingIsRefusedAtStart(pattern: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("never.pcap")
        let result = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "-w", path, "--redact", "ok", "--redact", pattern])
        #expect(result.status == 2)
        #expect(result.errorLines == ["tapedeck: --redact '\(pattern)' can match the empty string, so it would match everywhere; make it match at least one byte (e.g. x+ rather than x*)"])
        #expect(!FileManager.default.fileExists(atPath: path), "nothing was started")
    }
}
