import NIOCore
import Recording
import Replay
import Testing

/// Session scripts and the byte comparison, as values.
@Suite struct ScriptTests {
    @Test func cappingGapsShortensOnlyLongIdlePeriods() {
        let script = Script.session([
            .client("a", ms: 1), .server("b", ms: 3), .client("c", ms: 2_003), .server("d", ms: 2_004), .clientFIN(ms: 9_004),
        ])
        let capped = script.cappingGaps(at: .milliseconds(500))
        #expect(capped.steps.map { $0.offset / 1_000_000 } == [1, 3, 503, 504, 1_004])
        #expect(script.cappingGaps(at: .seconds(10)).steps.map(\.offset) == script.steps.map(\.offset))
    }

    @Test func bytesAndGapsPerDirection() {
        let script = Script.session([.client("GET", ms: 1), .server("ok", ms: 2), .client("!", ms: 3), .serverGap(10, ms: 4), .server("late", ms: 5)])
        #expect(String(buffer: script.bytes(.clientToServer)) == "GET!")
        #expect(String(buffer: script.bytes(.serverToClient)) == "oklate")
        #expect(script.firstGap?.streamOffset == 2)
        #expect(script.firstGap?.step.direction == .serverToClient)
    }

    @Test func theComparatorFindsTheFirstDifferenceAcrossChunks() {
        var comparator = StreamComparator(session: 3, direction: .serverToClient, expected: ByteBuffer(string: "+OK\r\n$5\r\nhello\r\n"), ignoring: [])
        #expect(comparator.feed(ByteBuffer(string: "+OK\r\n$5")) == nil)
        let mismatch = comparator.feed(ByteBuffer(string: "\r\nhallo\r\n"))
        #expect(mismatch?.offset == 10)
        #expect(mismatch?.expected == "@2: 4b 0d 0a 24 35 0d 0a 68 65 6c 6c 6f 0d 0a  |K..$5..hello..|")
        #expect(mismatch?.actual == "@2: 4b 0d 0a 24 35 0d 0a 68 61 6c 6c 6f 0d 0a  |K..$5..hallo..|")
        #expect(comparator.finish() == nil, "only the first difference is reported")
    }

    @Test func aShortOrLongStreamIsADifference() {
        var short = StreamComparator(session: 0, direction: .clientToServer, expected: ByteBuffer(string: "abcdef"), ignoring: [])
        short.feed(ByteBuffer(string: "abc"))
        #expect(short.finish()?.reason == "stream ended after 3 of 6 recorded bytes")
        var long = StreamComparator(session: 0, direction: .clientToServer, expected: ByteBuffer(string: "abc"), ignoring: [])
        #expect(long.feed(ByteBuffer(string: "abcd"))?.offset == 3)
    }

    @Test func ignoredRangesAndPatternsAreNotCompared() throws {
        let expected = ByteBuffer(string: "id=1234 at 12:00:01 ok")
        let rules = [try IgnoreRule(parsingRange: "server:3:4"), try IgnoreRule(parsingPattern: "[0-9]{2}:[0-9]{2}:[0-9]{2}")]
        var comparator = StreamComparator(session: 0, direction: .serverToClient, expected: expected, ignoring: rules)
        #expect(comparator.feed(ByteBuffer(string: "id=9876 at 23:59:59 ok")) == nil)
        #expect(comparator.finish() == nil)
        // A rule for the other side does not apply here.
        var other = StreamComparator(session: 0, direction: .clientToServer, expected: expected, ignoring: [try IgnoreRule(parsingRange: "server:3:4")])
        #expect(other.feed(ByteBuffer(string: "id=9876"))?.offset == 3)
    }

    @Test(arguments: ["", "1", "a:1", "client:1", "peer:1:2", "1:0", "-1:4"])
    func badIgnoreRangesAreRejected(text: String) {
        #expect(throws: ReplayError.self) { try IgnoreRule(parsingRange: text) }
    }
}
