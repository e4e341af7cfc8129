import NIOCore

/// Reads a chunked body (RFC 9112 §7.1) incrementally: chunk-size lines,
/// chunk data, the last chunk and trailer fields. It keeps only offsets and
/// resumes where it stopped, so a body fed one byte at a time costs the same
/// as one fed whole.
struct HTTPChunkedBody: Sendable {
    private enum Phase: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
    }

    private var phase = Phase.size
    /// Relative index (from the message's first byte) of the next unread byte.
    private(set) var position: Int
    /// Where each chunk's data sits, relative to the message's first byte.
    private(set) var dataRanges: [Range<Int>] = []
    private(set) var trailers: [HTTPMessage.Field] = []
    private var declaredTotal = 0

    init(bodyStart: Int) {
        position = bodyStart
    }

    /// The relative index one past the body's last byte, once it has arrived.
    mutating func advance(_ buffer: StreamBuffer, limits: FramingLimits) throws(FramingFailure) -> Int? {
        while true {
            switch phase {
            case .size:
                guard let line = try nextLine(buffer, limits: limits) else { return nil }
                let size = try HTTPChunkedBody.chunkSize(line.bytes, at: position, limits: limits)
                declaredTotal += size
                guard declaredTotal <= limits.maximumDeclaredBytes else {
                    throw FramingFailure(.overLimit, at: position, "chunks total over \(limits.maximumDeclaredBytes) bytes")
                }
                position = line.end + 1
                phase = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                let available = buffer.count - position
                guard available >= remaining else { return nil }
                dataRanges.append(position..<(position + remaining))
                position += remaining
                phase = .dataEnd
            case .dataEnd:
                guard let first = buffer.byte(at: position) else { return nil }
                if first == UInt8(ascii: "\n") {
                    position += 1
                } else {
                    guard first == UInt8(ascii: "\r") else { throw FramingFailure(.malformed, at: position, "chunk data not followed by CRLF") }
                    guard let second = buffer.byte(at: position + 1) else { return nil }
                    guard second == UInt8(ascii: "\n") else { throw FramingFailure(.malformed, at: position + 1, "chunk data not followed by CRLF") }
                    position += 2
                }
                phase = .size
            case .trailers:
                guard let line = try nextLine(buffer, limits: limits) else { return nil }
                let lineStart = position
                position = line.end + 1
                var content = line.bytes[...]
                if content.last == UInt8(ascii: "\r") { content = content.dropLast() }
                if content.isEmpty { return position }
                trailers.append(try HTTPHeadScanner.parseField(content, at: lineStart))
            }
        }
    }

    /// The bytes from `position` up to (not including) the next LF, and that LF's relative index.
    private func nextLine(_ buffer: StreamBuffer, limits: FramingLimits) throws(FramingFailure) -> (bytes: [UInt8], end: Int)? {
        guard let lineFeed = buffer.firstIndex(of: UInt8(ascii: "\n"), from: position, limit: limits.maximumLineBytes) else {
            if buffer.count - position > limits.maximumLineBytes {
                throw FramingFailure(.overLimit, at: position, "chunk line longer than \(limits.maximumLineBytes) bytes")
            }
            return nil
        }
        return (Array(buffer.slice(position..<lineFeed).readableBytesView), lineFeed)
    }

    private static func chunkSize(_ line: [UInt8], at start: Int, limits: FramingLimits) throws(FramingFailure) -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                guard digits > 0 else { throw FramingFailure(.malformed, at: start, "chunk size is not hexadecimal") }
                return size
            default:
                throw FramingFailure(.malformed, at: start + digits, "chunk size is not hexadecimal")
            }
            digits += 1
            size = size * 16 + value
            guard size <= limits.maximumDeclaredBytes else {
                throw FramingFailure(.overLimit, at: start, "chunk size over \(limits.maximumDeclaredBytes) bytes")
            }
        }
        guard digits > 0 else { throw FramingFailure(.malformed, at: start, "empty chunk size line") }
        return size
    }

    /// The body's content: every chunk's data, in order, from the message's bytes.
    func content(of message: ByteBuffer) -> ByteBuffer {
        var content = ByteBuffer()
        content.reserveCapacity(dataRanges.reduce(0) { $0 + $1.count })
        for range in dataRanges {
            if var data = message.getSlice(at: message.readerIndex + range.lowerBound, length: range.count) {
                content.writeBuffer(&data)
            }
        }
        return content
    }
}
