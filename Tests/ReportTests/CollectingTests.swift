import Foundation
import Testing

@testable import Report

/// The report's pure parts: packing bars into rows, throughput bins that
/// widen as a capture outgrows them.
struct CollectingTests {
    @Test func rowsNeverOverlapAndAreAsFewAsTheBusiestMoment() {
        var generator = SystemRandomNumberGenerator()
        let intervals: [(start: Int64, end: Int64)] = (0..<2000).map { _ in
            let start = Int64.random(in: 0..<1_000_000, using: &generator)
            return (start, start + Int64.random(in: 0..<50_000, using: &generator))
        }
        let (rows, count) = RowPacker.pack(intervals)
        var byRow: [Int: [(start: Int64, end: Int64)]] = [:]
        for (interval, row) in zip(intervals, rows) { byRow[row, default: []].append(interval) }
        for (_, list) in byRow {
            let sorted = list.sorted { $0.start < $1.start }
            for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.end < b.start) }
        }
        // The most intervals open at one instant (touching ends count as overlapping) is the fewest rows possible.
        let edges = intervals.flatMap { [($0.start, 0), ($0.end, 1)] }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        var open = 0, busiest = 0
        for edge in edges {
            open += edge.1 == 0 ? 1 : -1
            busiest = max(busiest, open)
        }
        #expect(count == busiest)
        #expect(Set(rows) == Set(0..<count))
    }

    @Test func binsWidenAndKeepEveryByte() {
        var bins = ThroughputBins(maximumBins: 64)
        var total = (0, 0)
        for step in 0..<10_000 {
            let time = Int64(step) * 7_000_000  // 70 s in 7 ms steps: far more than 64 bins of 1 ms
            bins.add(step % 13, at: 1_000_000_000_000 + time, clientToServer: step % 2 == 0)
            if step % 2 == 0 { total.0 += step % 13 } else { total.1 += step % 13 }
        }
        let throughput = bins.throughput(pageOrigin: 1_000_000_000_000)
        #expect(throughput.clientToServer.count <= 64)
        #expect(throughput.clientToServer.reduce(0, +) == total.0)
        #expect(throughput.serverToClient.reduce(0, +) == total.1)
        #expect(throughput.binMicroseconds * Int64(throughput.clientToServer.count) >= 70_000_000 - throughput.binMicroseconds)
    }

    @Test func scriptSafeJSONCannotCloseItsElement() {
        let text = ReportPage.scriptSafe(#"{"request":"GET /</script><script>alert(1)</script>"}"#)
        #expect(!text.contains("<"))
        let decoded = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(decoded?["request"] == "GET /</script><script>alert(1)</script>")
    }
}
