import Foundation

/// Reads and decodes a file a user named (a masks file, a proxies config
/// file). A failure is one line for the user, made into the caller's error
/// by `failing`: `cannot read the masks file m.json: no such file or
/// directory`, or `masks file m.json: ` and what decoding said.
package func decodeUserFile<Value, Failure: Error>(
    _ path: String,
    named what: String,
    failing: (String) -> Failure,
    _ decode: (Data) throws -> Value
) throws(Failure) -> Value {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw failing("cannot read the \(what) \(path): \(PlainReason.of(error))")
    }
    do {
        return try decode(data)
    } catch {
        throw failing("\(what) \(path): \(plainDecodingReason(error))")
    }
}

/// What a decoder's error means to whoever wrote the file: `"sessions" is
/// missing`, `"sent.bytes" is not a number`, `not JSON`; any other error
/// as it describes itself.
package func plainDecodingReason(_ error: Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func field(_ path: [CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return "\"\(text)\""
    }
    func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is any BinaryInteger.Type, is any BinaryFloatingPoint.Type: "a number"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
    switch error {
    case .keyNotFound(let key, let context):
        return "\(field(context.codingPath + [key])) is missing"
    case .typeMismatch(let type, let context):
        return context.codingPath.isEmpty ? "its top level is not \(kind(type))" : "\(field(context.codingPath)) is not \(kind(type))"
    case .valueNotFound(let type, let context):
        return context.codingPath.isEmpty ? "empty" : "\(field(context.codingPath)) is null, not \(kind(type))"
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "not JSON" : "\(field(context.codingPath)): \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}
