import NIOCore

/// A RESP2 or RESP3 value, parsed whole from a framed message's bytes.
///
/// The framer only finds where values end; this is the reading for whoever
/// needs a reply's content (pub/sub pushes, descriptions, tests).
public indirect enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case simpleError(String)
    case integer(Int64)
    /// nil for RESP2's null bulk string.
    case bulkString(ByteBuffer?)
    /// nil for RESP2's null array.
    case array([RESPValue]?)
    case null
    /// The double's text as sent (`3.14`, `inf`).
    case double(String)
    case boolean(Bool)
    case blobError(ByteBuffer)
    case verbatimString(format: String, text: ByteBuffer)
    /// The big number's digits as sent.
    case bigNumber(String)
    /// Keys and values alternating, in order.
    case map([RESPValue])
    case set([RESPValue])
    case push([RESPValue])
    /// A value with the attributes (keys and values alternating) sent before it.
    case attributed(attributes: [RESPValue], value: RESPValue)

    /// Parses the one value that `bytes` holds; nil if they do not hold exactly one whole value.
    public init?(parsing bytes: ByteBuffer, limits: FramingLimits = FramingLimits()) {
        var position = 0
        guard let value = try? RESPValue.read(bytes, at: &position, depth: 0, limits: limits), position == bytes.readableBytes else { return nil }
        self = value
    }

    /// The elements of an array, set or push (after attributes), if it is one.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let elements?), .set(let elements), .push(let elements): return elements
        case .attributed(_, let value): return value.elements
        default: return nil
        }
    }

    /// The text of a simple or bulk string, if it is one.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(buffer: bytes)
        case .verbatimString(_, let text): return String(buffer: text)
        case .attributed(_, let value): return value.string
        default: return nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .attributed(_, let value): return value.integer
        default: return nil
        }
    }

    private static func read(_ bytes: ByteBuffer, at position: inout Int, depth: Int, limits: FramingLimits) throws(FramingFailure) -> RESPValue {
        guard depth <= limits.maximumNestingDepth else { throw FramingFailure(.overLimit, at: position, "nested too deep") }
        guard let token = try RESPToken.read(bytes, at: position, limits: limits) else {
            throw FramingFailure(.malformed, at: position, "value is incomplete")
        }
        position = token.end
        func text(_ range: Range<Int>) -> String {
            String(decoding: bytes.readableBytesView.dropFirst(range.lowerBound).prefix(range.count), as: UTF8.self)
        }
        func data(_ range: Range<Int>) -> ByteBuffer {
            bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
        }
        switch token.body {
        case .line(let range):
            let line = text(range)
            switch token.type {
            case .simpleString: return .simpleString(line)
            case .simpleError: return .simpleError(line)
            case .integer: return .integer(Int64(line.drop { $0 == "+" }) ?? 0)
            case .null: return .null
            case .double: return .double(line)
            case .boolean: return .boolean(line == "t")
            default: return .bigNumber(line)
            }
        case .blob(let range):
            guard let range else { return .bulkString(nil) }
            switch token.type {
            case .blobError: return .blobError(data(range))
            case .verbatimString:
                return .verbatimString(format: text(range.lowerBound..<(range.lowerBound + 3)), text: data((range.lowerBound + 4)..<range.upperBound))
            default: return .bulkString(data(range))
            }
        case .aggregate(let count):
            guard let count else { return .array(nil) }
            var elements: [RESPValue] = []
            for _ in 0..<count { elements.append(try read(bytes, at: &position, depth: depth + 1, limits: limits)) }
            switch token.type {
            case .map: return .map(elements)
            case .set: return .set(elements)
            case .push: return .push(elements)
            case .attribute: return .attributed(attributes: elements, value: try read(bytes, at: &position, depth: depth, limits: limits))
            default: return .array(elements)
            }
        }
    }
}
