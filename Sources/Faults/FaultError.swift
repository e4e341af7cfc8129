/// A fault that cannot be built: what was wrong and how to fix it.
///
/// `description` is one line suitable for a CLI error or an HTTP 400 body,
/// e.g. `bandwidth: rate must be greater than 0 KB/s (got 0) ...`.
public struct FaultError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The `type` is not one Tapedeck knows.
        case unknownType
        /// The `stream` is neither `upstream` nor `downstream`.
        case invalidStream
        /// The `toxicity` is outside 0…1.
        case invalidToxicity
        /// An attribute is missing its meaning: negative, zero where that
        /// would hang, not a number, out of range.
        case invalidAttribute
        /// The JSON is not an object of the expected shape.
        case malformed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
