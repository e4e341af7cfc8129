import NIOCore

/// One RESP header (type byte and line) and, for blob types, its data: the
/// unit both the incremental reply scanner and ``RESPValue``'s parser read.
struct RESPToken: Sendable {
    enum Body: Sendable {
        /// A simple type: the line's content.
        case line(Range<Int>)
        /// A blob type: its data, or nil for RESP2's null bulk string (`$-1`).
        case blob(Range<Int>?)
        /// An aggregate: how many values follow, or nil for RESP2's null array (`*-1`).
        case aggregate(values: Int?)
    }

    var type: RESPType
    var body: Body
    /// Index one past the token's last byte.
    var end: Int

    /// Reads the token starting `start` bytes into `bytes`' readable bytes; nil until it has all arrived.
    static func read(_ bytes: ByteBuffer, at start: Int, limits: FramingLimits) throws(FramingFailure) -> RESPToken? {
        guard let first: UInt8 = bytes.getInteger(at: bytes.readerIndex + start) else { return nil }
        guard let type = RESPType(rawValue: first) else {
            throw FramingFailure(.malformed, at: start, "byte 0x\(String(first, radix: 16)) is not a RESP type")
        }
        guard let lineEnd = try lineEnd(bytes, from: start + 1, limits: limits) else { return nil }
        let line = (start + 1)..<lineEnd
        let afterLine = lineEnd + 2
        if type.isBlob || type.isAggregate {
            let text = String(decoding: bytes.readableBytesView[(bytes.readerIndex + line.lowerBound)..<(bytes.readerIndex + line.upperBound)], as: UTF8.self)
            if text == "?" { throw FramingFailure(.unsupported, at: start, "RESP3 streamed \(type) is not supported") }
            guard let declared = Int(text), declared >= -1, text.utf8.allSatisfy({ $0 != UInt8(ascii: "+") }) else {
                throw FramingFailure(.malformed, at: start + 1, "length \(text.prefix(20)) is not a number")
            }
            if declared == -1 {
                guard type == .bulkString || type == .array else { throw FramingFailure(.malformed, at: start + 1, "negative length") }
                return RESPToken(type: type, body: type.isBlob ? .blob(nil) : .aggregate(values: nil), end: afterLine)
            }
            guard declared <= limits.maximumDeclaredBytes else {
                throw FramingFailure(.overLimit, at: start + 1, "length \(declared) is over the \(limits.maximumDeclaredBytes) limit")
            }
            if type.isAggregate { return RESPToken(type: type, body: .aggregate(values: declared * type.valuesPerElement), end: afterLine) }
            guard bytes.readableBytes - afterLine >= declared + 2 else { return nil }
            let data = afterLine..<(afterLine + declared)
            guard bytes.getInteger(at: bytes.readerIndex + data.upperBound, as: UInt16.self) == 0x0D0A else {
                throw FramingFailure(.malformed, at: data.upperBound, "blob data not followed by CRLF")
            }
            if type == .verbatimString, declared < 4 || bytes.getInteger(at: bytes.readerIndex + afterLine + 3, as: UInt8.self) != UInt8(ascii: ":") {
                throw FramingFailure(.malformed, at: afterLine, "verbatim string without a three-letter format")
            }
            return RESPToken(type: type, body: .blob(data), end: data.upperBound + 2)
        }
        try validate(type, bytes.readableBytesView[(bytes.readerIndex + line.lowerBound)..<(bytes.readerIndex + line.upperBound)], at: start + 1)
        return RESPToken(type: type, body: .line(line), end: afterLine)
    }

    /// The index of the CR of the CRLF that ends the line starting at `from`.
    static func lineEnd(_ bytes: ByteBuffer, from: Int, limits: FramingLimits) throws(FramingFailure) -> Int? {
        let available = bytes.readableBytes - from
        let searched = min(available, limits.maximumLineBytes + 2)
        guard searched > 0 else { return nil }
        let lineFeed = bytes.withUnsafeReadableBytes { $0[from..<(from + searched)].firstIndex(of: UInt8(ascii: "\n")) }
        guard let lineFeed else {
            if available > limits.maximumLineBytes + 1 {
                throw FramingFailure(.overLimit, at: from, "line longer than \(limits.maximumLineBytes) bytes")
            }
            return nil
        }
        guard lineFeed > from, bytes.getInteger(at: bytes.readerIndex + lineFeed - 1, as: UInt8.self) == UInt8(ascii: "\r") else {
            throw FramingFailure(.malformed, at: lineFeed, "line ends in LF without CR")
        }
        return lineFeed - 1
    }

    private static func validate(_ type: RESPType, _ line: ByteBufferView, at start: Int) throws(FramingFailure) {
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        let body = line.first == UInt8(ascii: "-") || line.first == UInt8(ascii: "+") ? line.dropFirst() : line[...]
        let valid: Bool
        switch type {
        case .integer:
            valid = Int64(String(decoding: line, as: UTF8.self).drop { $0 == "+" }) != nil
        case .bigNumber:
            valid = !body.isEmpty && body.allSatisfy { digits.contains($0) }
        case .null:
            valid = line.isEmpty
        case .boolean:
            valid = line.count == 1 && (line.first == UInt8(ascii: "t") || line.first == UInt8(ascii: "f"))
        case .double:
            valid = !body.isEmpty && body.allSatisfy { digits.contains($0) || Array(".eE+-infa".utf8).contains($0) }
        default:
            valid = !line.contains(UInt8(ascii: "\r"))
        }
        guard valid else { throw FramingFailure(.malformed, at: start, "not a valid RESP \(type)") }
    }
}
