/// A binary min-heap: the smallest element by `Key` first. What puts
/// sessions that ended out of order back in index order (the manifest's
/// runs, inspect's listing) and packs a report's timeline rows.
package struct MinimumHeap<Key: Comparable, Value> {
    private var items: [(key: Key, value: Value)] = []

    package init() {}

    package var isEmpty: Bool { items.isEmpty }
    package var first: (key: Key, value: Value)? { items.first }

    package mutating func push(_ value: Value, key: Key) {
        items.append((key, value))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].key < items[parent].key else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    package mutating func pop() -> (key: Key, value: Value)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && items[left].key < items[smallest].key { smallest = left }
            if right < items.count && items[right].key < items[smallest].key { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// Merges `count` sources, each already in index order, into one: `take`
/// is called with the source whose next index (`peek`) is the lowest, until
/// every source is exhausted (`peek` gives nil). What puts sorted runs of
/// sessions back together (a manifest's, inspect's listing).
package func mergeInIndexOrder(sources count: Int, peek: (_ source: Int) throws -> Int?, take: (_ source: Int) throws -> Void) rethrows {
    var heap = MinimumHeap<Int, Int>()
    for source in 0..<count {
        if let index = try peek(source) { heap.push(source, key: index) }
    }
    while let (_, source) = heap.pop() {
        try take(source)
        if let index = try peek(source) { heap.push(source, key: index) }
    }
}
