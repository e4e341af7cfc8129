import Foundation

/// The JSON Tapedeck writes for people and tools to read (manifests,
/// reports, `inspect --format json`, masks): pretty-printed, keys sorted,
/// slashes as they are.
package enum PrettyJSON {
    package static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as it stands nested `depth` levels deep in a document
    /// `encoder` prints whole (an element of a top-level array is at depth
    /// 1): every line indented two spaces a level, so documents too large to
    /// encode at once can be written an element at a time, byte for byte
    /// the same.
    package static func nested<Value: Encodable>(_ value: Value, depth: Int, encoder: JSONEncoder = encoder) throws -> [UInt8] {
        let indent = Array(repeating: UInt8(ascii: " "), count: 2 * depth)
        let data = try encoder.encode(value)
        var text = indent
        text.reserveCapacity(data.count + data.count / 8)
        for byte in data {
            text.append(byte)
            if byte == UInt8(ascii: "\n") { text += indent }
        }
        return text
    }
}
