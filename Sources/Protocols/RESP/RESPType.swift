/// The type byte that starts every RESP2 and RESP3 value.
public enum RESPType: UInt8, Sendable, Hashable, CaseIterable {
    case simpleString = 0x2B  // +
    case simpleError = 0x2D  // -
    case integer = 0x3A  // :
    case bulkString = 0x24  // $
    case array = 0x2A  // *
    case null = 0x5F  // _
    case double = 0x2C  // ,
    case boolean = 0x23  // #
    case blobError = 0x21  // !
    case verbatimString = 0x3D  // =
    case bigNumber = 0x28  // (
    case map = 0x25  // %
    case set = 0x7E  // ~
    case push = 0x3E  // >
    case attribute = 0x7C  // |

    /// Types whose header line is followed by a length of data and CRLF.
    var isBlob: Bool { self == .bulkString || self == .blobError || self == .verbatimString }

    /// Types whose header line counts the values that follow.
    var isAggregate: Bool { self == .array || self == .map || self == .set || self == .push || self == .attribute }

    /// Values counted per declared element: maps and attributes hold pairs.
    var valuesPerElement: Int { self == .map || self == .attribute ? 2 : 1 }

    /// An error reply, simple or blob.
    public var isError: Bool { self == .simpleError || self == .blobError }
}
