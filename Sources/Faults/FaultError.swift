import TapedeckErrors

/// A fault that cannot be built: what was wrong and how to fix it.
///
/// `description` is one line suitable for a CLI error or an HTTP 400 body,
/// e.g. `bandwidth: rate must be greater than 0 KB/s (got 0) ...`.
public typealias FaultError = TapedeckError<FaultErrorCode>

public enum FaultErrorCode: String, Sendable, Hashable {
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
