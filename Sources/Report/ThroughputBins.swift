import Recording

/// Bytes each way per time bin, for a capture whose length is not known
/// until it has been read: bins start 1 ms wide and double (merging pairs)
/// whenever the capture outgrows `maximumBins`, so memory stays bounded
/// whatever the span. Pure.
struct ThroughputBins {
    let maximumBins: Int
    private(set) var origin: Int64?
    private(set) var binNanoseconds: Int64 = 1_000_000
    private(set) var clientToServer: [Int] = []
    private(set) var serverToClient: [Int] = []

    init(maximumBins: Int = 2048) {
        self.maximumBins = max(2, maximumBins)
    }

    /// Counts `bytes` sent at `time` (nanoseconds since the epoch); times
    /// before the first one counted go to the first bin.
    mutating func add(_ bytes: Int, at time: Int64, clientToServer toServer: Bool) {
        let origin = self.origin ?? time
        self.origin = origin
        var bin = Int(max(0, time - origin) / binNanoseconds)
        while bin >= maximumBins {
            merge()
            bin = Int(max(0, time - origin) / binNanoseconds)
        }
        while clientToServer.count <= bin {
            clientToServer.append(0)
            serverToClient.append(0)
        }
        if toServer { clientToServer[bin] += bytes } else { serverToClient[bin] += bytes }
    }

    private mutating func merge() {
        binNanoseconds *= 2
        func halve(_ bins: [Int]) -> [Int] {
            stride(from: 0, to: bins.count, by: 2).map { bins[$0] + ($0 + 1 < bins.count ? bins[$0 + 1] : 0) }
        }
        clientToServer = halve(clientToServer)
        serverToClient = halve(serverToClient)
    }

    /// The bins as the page takes them, re-based on `pageOrigin` (the first
    /// session's start, which may precede the first byte).
    func throughput(pageOrigin: Int64) -> Throughput {
        guard let origin else { return Throughput(binMicroseconds: 1000, clientToServer: [], serverToClient: []) }
        // Shift by whole bins: bytes keep their bin; the page draws bin i at pageOrigin + shift + i·width.
        let leading = Int(max(0, origin - pageOrigin) / binNanoseconds)
        let pad = Array(repeating: 0, count: leading)
        return Throughput(binMicroseconds: binNanoseconds / 1000, clientToServer: pad + clientToServer, serverToClient: pad + serverToClient)
    }
}

/// Packs intervals into rows so that none overlap in a row: each interval
/// goes into the row that freed up earliest, if it is free by then, or a new
/// row. The fewest rows such intervals can take.
enum RowPacker {
    /// Rows for intervals given as (start, end), in the same order.
    static func pack(_ intervals: [(start: Int64, end: Int64)]) -> (rows: [Int], count: Int) {
        let order = intervals.indices.sorted { (intervals[$0].start, $0) < (intervals[$1].start, $1) }
        var rows = Array(repeating: 0, count: intervals.count)
        // Rows by when they come free, earliest first (ties: the lower row).
        var heap = MinimumHeap<RowFree, Void>()
        var count = 0
        for position in order {
            let interval = intervals[position]
            if let earliest = heap.first?.key, earliest.end < interval.start {
                _ = heap.pop()
                rows[position] = earliest.row
            } else {
                rows[position] = count
                count += 1
            }
            heap.push((), key: RowFree(end: max(interval.end, interval.start), row: rows[position]))
        }
        return (rows, count)
    }
}

/// When a timeline row comes free, for `RowPacker`.
private struct RowFree: Comparable {
    var end: Int64
    var row: Int

    static func < (a: RowFree, b: RowFree) -> Bool { (a.end, a.row) < (b.end, b.row) }
}
