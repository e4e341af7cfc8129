/// A recorder that cannot start or go on.
public typealias RecordingError = TapedeckError<RecordingErrorCode>

public enum RecordingErrorCode: String, Sendable {
    /// A `--redact` pattern is unusable.
    case invalidRedaction
    /// An earlier recording is where this one would be written.
    case exists
}
