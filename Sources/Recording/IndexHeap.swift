/// A binary min-heap of values by an integer key (a session index): what
/// puts sessions that ended out of order back in index order.
package struct IndexHeap<Value> {
    private var items: [(key: Int, value: Value)] = []

    package init() {}

    package var isEmpty: Bool { items.isEmpty }
    package var lowestKey: Int? { items.first?.key }

    package mutating func push(_ value: Value, key: Int) {
        items.append((key, value))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].key < items[parent].key else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    package mutating func pop() -> (key: Int, value: Value)? {
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
