import NIOCore
import Protocols
@testable import Replay
import Testing

/// The matching pieces of `--match request`, without sockets: the index's
/// tiers, the book's order of answers and reuse policies, shapes, dates.
struct ExchangeMatchingTests {
    static func resp(_ words: String...) -> String {
        "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }

    /// Two sessions: one sets and gets k1, k2; the other gets k2 twice with two answers recorded.
    static var scripts: [SessionScript] {
        [
            Script.session(0, [
                .client(resp("SET", "k1", "a"), ms: 0), .server("+OK\r\n", ms: 1),
                .client(resp("GET", "k1"), ms: 2), .server("$5\r\nval-1\r\n", ms: 3),
                .client(resp("SELECT", "1"), ms: 4), .server("+OK\r\n", ms: 5),
                .client(resp("GET", "k1"), ms: 6), .server("$9\r\ndb1-val-1\r\n", ms: 7),
            ]),
            Script.session(1, [
                .client(resp("GET", "k2"), ms: 0), .server("$6\r\nfirst2\r\n", ms: 1),
                .client(resp("GET", "k2"), ms: 2), .server("$7\r\nsecond2\r\n", ms: 3),
            ]),
        ]
    }

    static func book(_ matching: RequestMatching = RequestMatching()) -> ExchangeBook {
        try! ExchangeBook(sessions: scripts, protocol: RecordedConversations.detect(scripts), matching: matching)
    }

    static func ask(_ book: ExchangeBook, _ words: String..., database: Int = 0) -> String {
        let bytes = ByteBuffer(string: "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined())
        let message = ConnectionFramer.frame([(side: .client, bytes: bytes, time: .zero)], protocol: .redis).messages[0]
        var keyer = RequestKeyer()
        let probe = ExchangeIndex.Probe(bytes: bytes, key: keyer.key(for: [message]), context: .redis(database: database, inTransaction: false))
        switch book.answer(probe, description: { RequestDescription.describe([message]) }, connection: 0) {
        case .recorded(let recorded, let tier): return "\(tier.rawValue): \(String(buffer: recorded.bytes))"
        case .unmatched(let explanation): return "unmatched: \(explanation)"
        }
    }

    @Test func theRecordingIsFramedAsRedisAndIndexedAcrossSessions() {
        let conversations = RecordedConversations(scripts: Self.scripts)
        #expect(conversations.protocolKind == .redis)
        #expect(conversations.exchanges.map(\.description) == ["SET k1 a", "GET k2", "GET k1", "GET k2", "SELECT 1", "GET k1"])
        #expect(conversations.exchangeCounts == [0: 4, 1: 2])
    }

    @Test func answersComeInRecordedOrderThenTheLastRepeats() {
        let book = Self.book()
        #expect(Self.ask(book, "GET", "k2") == "exact: $6\r\nfirst2\r\n")
        #expect(Self.ask(book, "GET", "k2") == "exact: $7\r\nsecond2\r\n")
        #expect(Self.ask(book, "GET", "k2") == "exact: $7\r\nsecond2\r\n")
        #expect(Self.ask(book, "GET", "k1") == "exact: $5\r\nval-1\r\n")
    }

    @Test func reuseCyclesAndOnceRefuses() {
        let cycling = Self.book(RequestMatching(reuse: .cycle))
        #expect((0..<4).map { _ in Self.ask(cycling, "GET", "k2") } == ["first2", "second2", "first2", "second2"].map { "exact: $\($0.count)\r\n\($0)\r\n" })
        let once = Self.book(RequestMatching(reuse: .once))
        _ = Self.ask(once, "GET", "k1")
        #expect(Self.ask(once, "GET", "k1").hasPrefix("unmatched: no recorded answer for GET k1 (its recorded answers were used, and --once is set)"))
    }

    @Test func theSelectedDatabaseDecidesWhichAnswerAGetGets() {
        let book = Self.book()
        #expect(Self.ask(book, "GET", "k1", database: 1) == "exact: $9\r\ndb1-val-1\r\n")
        #expect(Self.ask(book, "GET", "k1", database: 0) == "exact: $5\r\nval-1\r\n")
        #expect(Self.ask(book, "GET", "k2", database: 1).hasPrefix("unmatched:"))
    }

    @Test func anUnmatchedRequestNamesTheNearestAndNearestAnswersWithTheSameShape() {
        let book = Self.book()
        // The first recorded request of the same shape is the nearest.
        #expect(Self.ask(book, "GET", "k9") == "unmatched: no recorded answer for GET k9; nearest recorded: GET k2 (arguments k9, recorded k2)")
        #expect(Self.ask(book, "DEL", "k1").hasPrefix("unmatched: no recorded answer for DEL k1; nearest recorded:"))
        let report = book.report
        #expect(report.unmatchedCount == 2)
        #expect(report.unmatched.first?.nearest == "GET k2")
        #expect(report.unmatched.first?.nearestSession == 1)

        let nearest = Self.book(RequestMatching(onUnmatched: .nearest))
        #expect(Self.ask(nearest, "GET", "k9") == "nearest: $6\r\nfirst2\r\n")
        #expect(Self.ask(nearest, "GET", "k8") == "nearest: $5\r\nval-1\r\n")
        #expect(Self.ask(nearest, "DEL", "k1").hasPrefix("unmatched:"))
    }

    @Test func theReportSaysWhatWasNeverAskedForAndWhichSessionsWereUsedInPart() {
        let book = Self.book()
        _ = Self.ask(book, "GET", "k2")
        _ = Self.ask(book, "GET", "k2")
        _ = Self.ask(book, "GET", "k1")
        let report = book.report
        #expect(report.answered == ["exact": 3, "masked": 0, "key": 0, "nearest": 0])
        #expect(report.answers.map { "\($0.request) \($0.match.rawValue) \($0.session):\($0.exchange)" } == ["GET k2 exact 1:0", "GET k2 exact 1:1", "GET k1 exact 0:1"])
        #expect(report.unusedExchangeCount == 3)
        #expect(report.unusedExchanges.map(\.request) == ["SET k1 a", "SELECT 1", "GET k1"])
        #expect(report.partlyUsedSessions == [0])
        #expect(report.unusedSessions.isEmpty)
    }

    @Test func statementShapesDropLiteralsButKeepIdentifiers() {
        #expect(StatementShape.of("UPDATE pgbench_accounts SET abalance = abalance + -4711 WHERE aid = 17;") == "UPDATE pgbench_accounts SET abalance = abalance + -? WHERE aid = ?;")
        #expect(StatementShape.of("SELECT name FROM t2 WHERE name = 'o''brien' AND id = $1") == "SELECT name FROM t2 WHERE name = ? AND id = $1")
        #expect(StatementShape.of("SELECT 1.5, x1") == "SELECT ?, x1")
    }

    @Test func imfDatesRoundTripAndMoveInAHeadOnly() {
        let sample = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
        let seconds = try! #require(IMFDate.parse(sample))
        #expect(seconds == 784_111_777)
        #expect(IMFDate.format(seconds) == sample)
        #expect(String(decoding: IMFDate.format(0), as: UTF8.self) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(String(decoding: IMFDate.format(951_782_400), as: UTF8.self) == "Tue, 29 Feb 2000 00:00:00 GMT")

        let response = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nSet-Cookie: a=1; Path=/; Expires=Mon, 07 Nov 1994 08:49:37 GMT\r\nX-Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 29\r\n\r\nSun, 06 Nov 1994 08:49:37 GMT"
        let moved = String(buffer: HTTPDateRefresh.refresh(ByteBuffer(string: response), by: 86_400))
        #expect(moved == "HTTP/1.1 200 OK\r\nDate: Mon, 07 Nov 1994 08:49:37 GMT\r\nSet-Cookie: a=1; Path=/; Expires=Tue, 08 Nov 1994 08:49:37 GMT\r\nX-Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 29\r\n\r\nSun, 06 Nov 1994 08:49:37 GMT")
        let notADate = "HTTP/1.1 200 OK\r\nDate: yesterday\r\n\r\n"
        #expect(String(buffer: HTTPDateRefresh.refresh(ByteBuffer(string: notADate), by: 10)) == notADate)
    }
}
