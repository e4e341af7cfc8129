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
        var heap = MinHeap()
        var count = 0
        for position in order {
            let interval = intervals[position]
            if let earliest = heap.peek, earliest.end < interval.start {
                _ = heap.pop()
                rows[position] = earliest.row
            } else {
                rows[position] = count
                count += 1
            }
            heap.push((max(interval.end, interval.start), rows[position]))
        }
        return (rows, count)
    }

    /// A binary heap of (end, row), earliest end first.
    struct MinHeap {
        private var items: [(end: Int64, row: Int)] = []
        var peek: (end: Int64, row: Int)? { items.first }

        mutating func push(_ item: (end: Int64, row: Int)) {
            items.append(item)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.less(items[child], items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> (end: Int64, row: Int)? {
            guard !items.isEmpty else { return nil }
            items.swapAt(0, items.count - 1)
            let top = items.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, Self.less(items[left], items[smallest]) { smallest = left }
                if right < items.count, Self.less(items[right], items[smallest]) { smallest = right }
                guard smallest != parent else { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
            return top
        }

        private static func less(_ a: (end: Int64, row: Int), _ b: (end: Int64, row: Int)) -> Bool {
            (a.end, a.row) < (b.end, b.row)
        }
    }
}
