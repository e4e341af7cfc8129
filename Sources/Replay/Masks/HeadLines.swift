/// The lines of an HTTP head, each without its CRLF, up to (not including) the empty line.
struct HeadLines: Sequence {
    struct Line {
        var bytes: ArraySlice<UInt8>
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func makeIterator() -> AnyIterator<Line> {
        var start = bytes.startIndex
        return AnyIterator {
            guard start < bytes.endIndex else { return nil }
            var end = start
            while end + 1 < bytes.endIndex, !(bytes[end] == 0x0D && bytes[end + 1] == 0x0A) { end += 1 }
            guard end + 1 < bytes.endIndex, end > start else { return nil }
            defer { start = end + 2 }
            return Line(bytes: bytes[start..<end])
        }
    }

    var first: Line? { makeIterator().next() }
}
