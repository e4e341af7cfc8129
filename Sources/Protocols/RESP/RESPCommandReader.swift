import NIOCore

/// Reads one client command incrementally, as Redis does: an array of bulk
/// strings (`*N` then N `$len` strings), or an inline command (a line of
/// words, quotes allowed). Bytes are read once however they are chunked.
struct RESPCommandReader: Sendable {
    private enum Phase: Sendable {
        case start
        case arguments(expected: Int)
    }

    private var phase = Phase.start
    private var position = 0
    private var argumentRanges: [Range<Int>] = []

    /// The command and the relative index one past its last byte, once it has arrived.
    mutating func advance(_ bytes: ByteBuffer, limits: FramingLimits) throws(FramingFailure) -> (command: RESPCommand, end: Int)? {
        while true {
            switch phase {
            case .start:
                guard let first: UInt8 = bytes.getInteger(at: bytes.readerIndex) else { return nil }
                guard first == RESPType.array.rawValue else { return try readInline(bytes, limits: limits) }
                guard let lineEnd = try RESPToken.lineEnd(bytes, from: 1, limits: limits) else { return nil }
                let text = String(decoding: bytes.readableBytesView.dropFirst().prefix(lineEnd - 1), as: UTF8.self)
                guard let count = Int(text), !text.hasPrefix("+") else {
                    throw FramingFailure(.malformed, at: 1, "command length \(text.prefix(20)) is not a number")
                }
                guard count <= limits.maximumCommandArguments else {
                    throw FramingFailure(.overLimit, at: 1, "command declares \(count) arguments, over \(limits.maximumCommandArguments)")
                }
                position = lineEnd + 2
                guard count > 0 else { return (RESPCommand(parts: [], isInline: false), position) }
                phase = .arguments(expected: count)
            case .arguments(let expected):
                guard let first: UInt8 = bytes.getInteger(at: bytes.readerIndex + position) else { return nil }
                guard first == RESPType.bulkString.rawValue else {
                    throw FramingFailure(.malformed, at: position, "command argument does not start with $")
                }
                guard let token = try RESPToken.read(bytes, at: position, limits: limits) else { return nil }
                guard case .blob(let data?) = token.body else {
                    throw FramingFailure(.malformed, at: position, "null command argument")
                }
                argumentRanges.append(data)
                position = token.end
                if argumentRanges.count == expected {
                    let parts = argumentRanges.map { bytes.getSlice(at: bytes.readerIndex + $0.lowerBound, length: $0.count) ?? ByteBuffer() }
                    return (RESPCommand(parts: parts, isInline: false), position)
                }
            }
        }
    }

    private func readInline(_ bytes: ByteBuffer, limits: FramingLimits) throws(FramingFailure) -> (command: RESPCommand, end: Int)? {
        let searched = min(bytes.readableBytes, limits.maximumLineBytes + 1)
        guard let lineFeed = bytes.readableBytesView.prefix(searched).firstIndex(of: UInt8(ascii: "\n")) else {
            if bytes.readableBytes > limits.maximumLineBytes {
                throw FramingFailure(.overLimit, at: 0, "inline command longer than \(limits.maximumLineBytes) bytes")
            }
            return nil
        }
        let end = lineFeed - bytes.readerIndex
        var line = Array(bytes.readableBytesView.prefix(end))
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard let words = RESPCommand.splitInline(line) else {
            throw FramingFailure(.malformed, at: 0, "unbalanced quotes in inline command")
        }
        return (RESPCommand(parts: words.map { ByteBuffer(bytes: $0) }, isInline: true), end + 1)
    }
}
