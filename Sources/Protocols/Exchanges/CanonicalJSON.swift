import Foundation
import NIOCore

/// JSON compared as JSON: a body re-serialized by Foundation's
/// `JSONSerialization` with sorted keys and no insignificant white space, so
/// key order and formatting do not change a key.
enum CanonicalJSON {
    /// The canonical form of `body`, or nil when it is not JSON.
    static func canonical(_ body: ByteBuffer) -> ByteBuffer? {
        guard let first = body.readableBytesView.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
            first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return nil }
        let data = Data(body.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let canonical = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return nil }
        return ByteBuffer(bytes: canonical)
    }
}
