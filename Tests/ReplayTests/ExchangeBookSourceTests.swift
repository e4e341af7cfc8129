import Foundation
import NIOCore
import Protocols
@testable import Replay
import TapedeckTestSupport
import Testing

/// The request index keeps no bytes: it frames each session once to index
/// it, and reads an answer's bytes back from its session when it answers.
/// Its answers must be those of the exchanges framed once and kept, from a
/// catalog whose bytes wait on disk as from scripts in memory.
@Suite struct ExchangeBookSourceTests {
    static func recording(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Recordings/\(name)").standardized.path
    }

    /// Everything an answer is made of, as plain values.
    static func plain(_ answer: RecordedAnswer) -> [String] {
        let outline = answer.outline
        return [
            "session \(answer.session) #\(answer.ordinal) \(answer.description)",
            "bytes \(Array(answer.bytes.readableBytesView))",
            "length \(outline.length) think \(outline.thinkTime) outcome \(outline.outcome) closes \(outline.closesConnection)",
            "responses \(outline.responses.map { "\($0.length) at \($0.at)" })",
            "login \(outline.login.map { "\($0.parameters) \(String(describing: $0.processID)) \(String(describing: $0.secretKey))" } ?? "-")",
        ]
    }

    /// The answer as the exchange framed once and kept has it.
    static func plain(_ recorded: RecordedExchange) -> [String] {
        plain(RecordedAnswer(exchange: IndexedExchange(recorded, source: 0, answerPlace: nil, masking: .none), bytes: recorded.responseBytes))
    }

    @Test(arguments: ["http.pcap", "http-proxy.pcap", "redis.pcap", "redis-tcp.pcap", "redis-unix.pcap"])
    func aCatalogsBookAnswersWithTheExchangesFramedOnceAndKept(name: String) throws {
        let path = Self.recording(name)
        let scripts = try SessionScript.load(paths: [path])
        let kept = RecordedConversations(scripts: scripts)
        #expect(kept.protocolKind != .generic, "\(name) is framed in a protocol")
        #expect(!kept.exchanges.isEmpty)
        let fromDisk = try ExchangeBook(sessions: try SessionCatalog.read(paths: [path]), protocol: kept.protocolKind, matching: RequestMatching())
        let fromMemory = try ExchangeBook(sessions: scripts, protocol: kept.protocolKind, matching: RequestMatching())
        for book in [fromDisk, fromMemory] {
            #expect(book.index.exchanges.count == kept.exchanges.count)
            #expect(book.framingFailures.map { $0.session } == kept.framingFailures.map { $0.session })
            for (position, expected) in kept.exchanges.enumerated() {
                let entry = book.index.exchanges[position]
                #expect(entry.session == expected.session && entry.ordinal == expected.ordinal, "\(name) exchange \(position)")
                #expect(entry.description == expected.description)
                #expect(try Self.plain(book.answer(at: position)) == Self.plain(expected), "\(name) exchange \(position)")
            }
        }
    }

    @Test func pipelinedAnswersThatShareAChunkAreCutAtTheirOwnBytes() throws {
        // Three requests in one chunk; their answers in two chunks, the second
        // answer starting inside the first chunk and ending in the second.
        let requests = ExchangeMatchingTests.resp("GET", "a") + ExchangeMatchingTests.resp("GET", "b") + ExchangeMatchingTests.resp("GET", "c")
        let scripts = [
            Script.session(0, [
                .client(requests, ms: 0),
                .server("$2\r\nAA\r\n$3\r\nB", ms: 1),
                .server("BB\r\n$1\r\nC\r\n", ms: 2),
            ]),
        ]
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let catalogFile = try Script.write(scripts, in: directory)
        for book in [
            try ExchangeBook(sessions: scripts, protocol: .redis, matching: RequestMatching()),
            try ExchangeBook(sessions: try SessionCatalog.read(paths: [catalogFile]), protocol: .redis, matching: RequestMatching()),
        ] {
            #expect(try (0..<3).map { String(buffer: try book.answer(at: $0).bytes) } == ["$2\r\nAA\r\n", "$3\r\nBBB\r\n", "$1\r\nC\r\n"])
            #expect(ExchangeMatchingTests.ask(book, "GET", "b") == "exact: $3\r\nBBB\r\n")
        }
    }

    @Test func largeValuesAreIndexedByDigestAndStillMatchExactlyAndByKey() throws {
        let value = String(repeating: "v", count: 10_000)
        let other = String(repeating: "w", count: 10_000)
        let scripts = [
            Script.session(0, [
                .client(ExchangeMatchingTests.resp("SET", "big", value), ms: 0), .server("+OK\r\n", ms: 1),
                .client(ExchangeMatchingTests.resp("SET", "big", other), ms: 2), .server("-ERR second\r\n", ms: 3),
            ]),
        ]
        let book = try ExchangeBook(sessions: scripts, protocol: .redis, matching: RequestMatching())
        for entry in book.index.exchanges {
            guard case .redis(_, let arguments) = entry.key else { Issue.record("not a Redis key: \(entry.key)"); continue }
            #expect(arguments.map(\.readableBytes) == [3, 17], "the value is kept as a marker and a 16-byte digest")
        }
        #expect(ExchangeMatchingTests.ask(book, "SET", "big", other) == "exact: -ERR second\r\n")
        #expect(ExchangeMatchingTests.ask(book, "SET", "big", value) == "exact: +OK\r\n")
        // Same key, other bytes: a lower-case command name is the same key.
        #expect(ExchangeMatchingTests.ask(book, "set", "big", value) == "key: +OK\r\n")
        #expect(ExchangeMatchingTests.ask(book, "SET", "big", value + "x").hasPrefix("unmatched: no recorded answer for SET big"))
    }
}
