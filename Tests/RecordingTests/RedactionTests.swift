import Foundation
import Logging
import NIOCore
import PcapFile
@testable import Recording
import TapedeckTestSupport
import Testing

/// `--redact` as the recorder applies it: every pattern, matches that span
/// reads, events written whole, in order, with their own times.
@Suite struct RedactionTests {
    /// A session's events through its redaction: what `pass` released at
    /// each step, and everything at the end.
    struct Redacted {
        var releasedAtEachStep: [[SessionEvent]] = []
        var atEnd: [SessionEvent] = []
        var all: [SessionEvent] { releasedAtEachStep.flatMap { $0 } + atEnd }

        func bytes(_ direction: Direction) -> String {
            var text = ""
            for event in all where event.direction == direction {
                if case .data(let buffer) = event.kind { text += String(decoding: buffer.readableBytesView, as: UTF8.self) }
            }
            return text
        }
    }

    static func redact(_ events: [(Direction, String)], patterns: [String]) throws -> Redacted {
        var redaction = SessionRedaction(redactor: try Redactor(patterns: patterns))
        var result = Redacted()
        for (index, (direction, text)) in events.enumerated() {
            let event = SessionEvent(time: Timestamp(nanosecondsSinceEpoch: Int64(index)), direction: direction, kind: .data(ByteBuffer(string: text)))
            result.releasedAtEachStep.append(redaction.pass(event))
        }
        result.atEnd = redaction.finish()
        return result
    }

    static func client(_ chunks: [String], patterns: [String]) throws -> Redacted {
        try redact(chunks.map { (.clientToServer, $0) }, patterns: patterns)
    }

    static func stars(_ count: Int) -> String { String(repeating: "*", count: count) }

    @Test func aSecretSplitOverTwoReadsIsMasked() throws {
        let redacted = try Self.client(["AUTH pass", "word=hunter2\r\n"], patterns: [#"password=\w+"#])
        #expect(redacted.bytes(.clientToServer) == "AUTH " + Self.stars(16) + "\r\n")
        // Each read is written as it came: its own length and time.
        #expect(redacted.all.map(\.time.nanosecondsSinceEpoch) == [0, 1])
        #expect(redacted.all.map { event -> Int in
            guard case .data(let buffer) = event.kind else { return -1 }
            return buffer.readableBytes
        } == [9, 14])
    }

    @Test func aSecretSentByteByByteIsMasked() throws {
        let text = "user=ada password=hunter2 ok\r\n"
        let redacted = try Self.client(text.map { String($0) }, patterns: [#"password=\w+"#])
        #expect(redacted.bytes(.clientToServer) == "user=ada " + Self.stars(16) + " ok\r\n")
        #expect(redacted.all.count == text.count)
    }

    /// Bytes that cannot start a match are written at once; a read whose
    /// end could start one waits only until the next read decides.
    @Test func onlyReadsThatCouldCompleteAMatchWait() throws {
        let redacted = try Self.client(["GET /a HTTP/1.1\r\n", "x-secret-12", "34 rest\r\n", "plain\r\n"], patterns: ["secret-[0-9]+"])
        #expect(redacted.releasedAtEachStep.map(\.count) == [1, 0, 2, 1])
        #expect(redacted.atEnd.isEmpty)
        #expect(redacted.bytes(.clientToServer) == "GET /a HTTP/1.1\r\nx-" + Self.stars(11) + " rest\r\nplain\r\n")
    }

    /// The other direction's events wait behind a read that waits, so the
    /// file keeps the order they happened in.
    @Test func eventsKeepTheirOrderAcrossDirections() throws {
        let redacted = try Self.redact([
            (.clientToServer, "AUTH pass"), (.serverToClient, "+WAIT\r\n"), (.clientToServer, "word=x1\r\n"), (.serverToClient, "+OK\r\n"),
        ], patterns: [#"password=\w+"#])
        #expect(redacted.releasedAtEachStep.map(\.count) == [0, 0, 3, 1])
        #expect(redacted.all.map(\.time.nanosecondsSinceEpoch) == [0, 1, 2, 3])
        #expect(redacted.bytes(.clientToServer) == "AUTH " + Self.stars(11) + "\r\n")
        #expect(redacted.bytes(.serverToClient) == "+WAIT\r\n+OK\r\n")
    }

    /// Every pattern applies on its own, even where their matches overlap.
    @Test func everyPatternApplies() throws {
        let redacted = try Self.client(["xab", "cx token=7 pin:1234;", " card 4111"], patterns: ["abc?", "bcx", #"token=\d+"#, #"pin:\d{4}"#, "4111"])
        #expect(redacted.bytes(.clientToServer) == "x" + Self.stars(4) + " " + Self.stars(7) + " " + Self.stars(8) + "; card " + Self.stars(4))
    }

    @Test(arguments: ["", "x*", "a?", #"\b"#, "(?=a)", "(a|)", "^", "$"])
    func patternsThatCanMatchNothingAreRefused(pattern: String) {
        #expect {
            _ = try Redactor(patterns: ["password=\\w+", pattern])
        } throws: { error in
            let error = error as? RecordingError
            return error?.code == .invalidRedaction && error?.message.contains("--redact '\(pattern)' can match the empty string") == true
        }
    }

    @Test func anInvalidPatternIsRefusedWithPCRE2sReason() {
        #expect {
            _ = try Redactor(patterns: ["(unclosed"])
        } throws: { error in
            (error as? RecordingError)?.message.hasPrefix("--redact '(unclosed' is not a valid regular expression: missing closing parenthesis") == true
        }
    }

    /// A match longer than the span limit does not hold the stream back
    /// without bound: its bytes are masked and let go as the limit passes.
    @Test func aMatchLongerThanTheSpanLimitIsMaskedAndLetGo() throws {
        let chunks = Array(repeating: String(repeating: "7", count: 100), count: 100) + ["x"]
        let redacted = try Self.client(chunks, patterns: ["[0-9]+"])
        #expect(redacted.bytes(.clientToServer) == Self.stars(10_000) + "x")
        let releasedEarly = redacted.releasedAtEachStep.dropLast().reduce(0) { $0 + $1.count }
        #expect(releasedEarly >= 100 - (Redactor.spanLimit / 100 + 2), "no more than the span limit waits")
    }

    /// Bytes lost from the capture cut the stream: nothing matches across them.
    @Test func aGapCutsTheStream() throws {
        var redaction = SessionRedaction(redactor: try Redactor(patterns: ["password"]))
        let time = Timestamp(nanosecondsSinceEpoch: 0)
        var events = redaction.pass(SessionEvent(time: time, direction: .clientToServer, kind: .data(ByteBuffer(string: "pass"))))
        events += redaction.pass(SessionEvent(time: time, direction: .clientToServer, kind: .gap(bytes: 10)))
        events += redaction.pass(SessionEvent(time: time, direction: .clientToServer, kind: .data(ByteBuffer(string: "word"))))
        events += redaction.finish()
        let texts = events.compactMap { event -> String? in
            guard case .data(let buffer) = event.kind else { return nil }
            return String(buffer: buffer)
        }
        #expect(texts == ["pass", "word"])
        #expect(events.count == 3)
    }

    /// `^` is the start of the stream, not of each read.
    @Test func anAnchorMeansTheStartOfTheStream() throws {
        let redacted = try Self.client(["GET /", "x\r\nGET /y"], patterns: ["^GET"])
        #expect(redacted.bytes(.clientToServer) == "*** /x\r\nGET /y")
    }

    /// However a stream is cut into reads, the recording holds what
    /// redacting the whole stream at once gives: each pattern's leftmost,
    /// longest matches (Swift's own Regex as the reference) masked.
    @Test(arguments: 0..<40)
    func anyCutGivesWhatTheWholeStreamGives(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let patterns = [#"secret=[a-z]+;"#, #"pin:[0-9]{4}"#, "ABBA", #"tok-\d+"#]
        let pieces = ["secret=abc;", "pin:1234", "ABBA", "tok-77", "AB", "BA", "pin:", "12", "se", "cret=", "x", ";", " ", "7", "\r\n"]
        var stream = ""
        for _ in 0..<Int.random(in: 5...60, using: &generator) {
            stream += pieces.randomElement(using: &generator)!
        }
        var chunks: [String] = []
        var rest = Substring(stream)
        while !rest.isEmpty {
            let size = Int.random(in: 1...12, using: &generator)
            chunks.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        var expected = Array(stream.utf8)
        for pattern in patterns {
            for range in stream.ranges(of: try Regex(pattern)) {
                let lower = stream.utf8.distance(from: stream.startIndex, to: range.lowerBound)
                let upper = stream.utf8.distance(from: stream.startIndex, to: range.upperBound)
                for index in lower..<upper { expected[index] = UInt8(ascii: "*") }
            }
        }
        let redacted = try Self.client(chunks, patterns: patterns)
        #expect(redacted.bytes(.clientToServer) == String(decoding: expected, as: UTF8.self), "\(chunks)")
    }

    @Test func theManifestListsThePatternsNotWhatTheyMasked() throws {
        let manifest = Manifest(file: "r.pcap", sessions: [], redact: [#"password=\w+"#, "pin:[0-9]+"])
        let data = try JSONEncoder().encode(manifest)
        let decoded = try JSONDecoder().decode(Manifest.self, from: data)
        #expect(decoded.redact == [#"password=\w+"#, "pin:[0-9]+"])
        #expect(Manifest(file: "r.pcap", sessions: []).redact == nil)
    }

    /// The recorder redacts each session on the thread that read it: many
    /// sessions redacted at once, a byte at a time (every read a partial
    /// match), must each come out masked exactly, read back from the file.
    @Test func sessionsRedactedOnManyThreadsAtOnceAreEachMaskedExactly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("redacted.pcap")
        var configuration = RecorderConfiguration(output: .file(path: path))
        configuration.redactPatterns = [#"password=\w+"#, #"token [0-9a-f]{8}"#]
        let recorder = try Recorder(configuration: configuration, logger: Logger(label: "test"))
        let sessions = 8
        let start = Timestamp.now()
        @Sendable func text(_ index: Int) -> String {
            (0..<40).map { round in "user=\(index) password=hunter\(round)x\(index) token \(String(format: "%08x", index * 1000 + round)) ok\r\n" }.joined()
        }
        func masked(_ index: Int) -> String {
            (0..<40).map { round in
                let password = "password=hunter\(round)x\(index)"
                return "user=\(index) \(Self.stars(password.count)) \(Self.stars(14)) ok\r\n"
            }.joined()
        }
        for index in 0..<sessions {
            recorder.open(Session(index: index, id: UInt64(index + 1), client: .ip(.loopbackV4, port: UInt16(41_000 + index)), server: .ip(.loopbackV4, port: 6379), opened: start))
        }
        DispatchQueue.concurrentPerform(iterations: sessions) { index in
            for byte in text(index).utf8 {
                recorder.record(SessionEvent(time: .now(), direction: .clientToServer, kind: .data(ByteBuffer(bytes: [byte]))), session: UInt64(index + 1))
            }
            recorder.close(session: UInt64(index + 1), at: .now())
        }
        recorder.finish()

        var received: [Int: [UInt8]] = [:]
        try StreamReassembler.read(paths: [path]) { event in
            if case .event(let session, let sessionEvent) = event, case .data(let buffer) = sessionEvent.kind {
                received[session, default: []] += buffer.readableBytesView
            }
        }
        #expect(received.count == sessions)
        let expected = Set((0..<sessions).map(masked))
        let found = Set(received.values.map { String(decoding: $0, as: UTF8.self) })
        #expect(found == expected)
        // The manifest's XXH3 is of the masked bytes, as the file holds them.
        let verification = try ChecksumVerification.verify(path: path)
        #expect(verification.passed, "\(verification.problems)")
    }

    /// A session still open when recording stops: the partial match its
    /// redaction held back is decided then and written masked, and the
    /// manifest's checksum covers it.
    @Test func whatASessionOpenAtTheEndHeldBackIsWrittenMaskedAndChecksummed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("held.pcap")
        var configuration = RecorderConfiguration(output: .file(path: path))
        configuration.redactPatterns = [#"password=\w+"#]
        let recorder = try Recorder(configuration: configuration, logger: Logger(label: "test"))
        recorder.open(Session(index: 0, id: 1, client: .ip(.loopbackV4, port: 41_000), server: .ip(.loopbackV4, port: 6379), opened: .now()))
        for text in ["user=1 ", "pass", "word=hun", "ter2"] {
            recorder.record(SessionEvent(time: .now(), direction: .clientToServer, kind: .data(ByteBuffer(string: text))), session: 1)
        }
        recorder.record(SessionEvent(time: .now(), direction: .serverToClient, kind: .data(ByteBuffer(string: "+OK\r\n"))), session: 1)
        recorder.finish()

        let session = try #require(try Manifest.load(forRecording: path)?.sessions.first)
        #expect(session.clientToServer.bytes == "user=1 password=hunter2".utf8.count)
        #expect(session.serverToClient.bytes == 5)
        var received: [UInt8] = []
        try StreamReassembler.read(paths: [path]) { event in
            if case .event(_, let sessionEvent) = event, case .data(let buffer) = sessionEvent.kind, sessionEvent.direction == .clientToServer {
                received += buffer.readableBytesView
            }
        }
        #expect(String(decoding: received, as: UTF8.self) == "user=1 " + Self.stars(16))
        let verification = try ChecksumVerification.verify(path: path)
        #expect(verification.passed, "\(verification.problems)")
    }
}
