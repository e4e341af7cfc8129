import Foundation
import NIOCore
import Protocols
@testable import Replay
import Testing

/// The request index keeps no bytes: it frames each session once to index
/// it, and frames a session again when it answers from it. Its answers
/// must be those of the exchanges framed once and kept, from a catalog
/// whose bytes wait on disk as from scripts in memory.
@Suite struct ExchangeBookSourceTests {
    static func recording(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Recordings/\(name)").standardized.path
    }

    /// Everything an answer is made of, as plain values.
    static func plain(_ recorded: RecordedExchange) -> [String] {
        [
            "session \(recorded.session) #\(recorded.ordinal) \(recorded.description) at \(recorded.recordedAt)",
            "request \(Array(recorded.requestBytes.readableBytesView))",
            "response \(Array(recorded.responseBytes.readableBytesView))",
            "think \(recorded.thinkTime)",
            "messages \(recorded.exchange.responses.map { "\($0.content) \($0.firstByteAt) \($0.lastByteAt)" })",
        ]
    }

    @Test(arguments: ["http.pcap", "http-proxy.pcap", "redis.pcap", "redis-tcp.pcap", "redis-unix.pcap"])
    func aCatalogsBookAnswersWithTheExchangesFramedOnceAndKept(name: String) throws {
        let path = Self.recording(name)
        let scripts = try SessionScript.load(paths: [path])
        let kept = RecordedConversations(scripts: scripts)
        #expect(kept.protocolKind != .generic, "\(name) is framed in a protocol")
        #expect(!kept.exchanges.isEmpty)
        let catalog = try SessionCatalog.read(paths: [path])
        // A capacity of one byte keeps only the session framed last: every
        // other answer is framed again from the disk.
        let book = try ExchangeBook(sessions: catalog, protocol: kept.protocolKind, matching: RequestMatching(), framedSessionBytes: 1)
        #expect(book.index.exchanges.count == kept.exchanges.count)
        #expect(book.framingFailures.map(\.session) == kept.framingFailures.map(\.session))
        for (position, expected) in kept.exchanges.enumerated().reversed() {
            let entry = book.index.exchanges[position]
            #expect(entry.session == expected.session && entry.ordinal == expected.ordinal, "\(name) exchange \(position)")
            #expect(try Self.plain(book.recorded(at: position)) == Self.plain(expected), "\(name) exchange \(position)")
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

    @Test func framedSessionsAreKeptUpToTheirCapacityLeastRecentlyUsedFirst() throws {
        // Ten sessions, each answering GET kN with a value of 1,000 bytes.
        let scripts = (0..<10).map { n in
            Script.session(n, [
                .client(ExchangeMatchingTests.resp("GET", "k\(n)"), ms: 0),
                .server("$1000\r\n" + String(repeating: "\(n)", count: 1000) + "\r\n", ms: 1),
            ])
        }
        let sessionBytes = scripts[0].steps.reduce(0) { $0 + $1.byteCount }
        let book = try ExchangeBook(sessions: scripts, protocol: .redis, matching: RequestMatching(reuse: .cycle), framedSessionBytes: 3 * sessionBytes)
        #expect(book.framedBytes == 0, "indexing keeps no session framed")
        for round in 0..<2 {
            for n in 0..<10 {
                let answer = ExchangeMatchingTests.ask(book, "GET", "k\(n)")
                #expect(answer == "exact: $1000\r\n" + String(repeating: "\(n)", count: 1000) + "\r\n", "round \(round), k\(n)")
                #expect(book.framedBytes <= 3 * sessionBytes)
            }
        }
        #expect(book.framedBytes == 3 * sessionBytes)
    }
}
