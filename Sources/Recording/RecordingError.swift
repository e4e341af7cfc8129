import TapedeckErrors

/// A recorder that cannot start or go on.
public typealias RecordingError = TapedeckError<RecordingErrorCode>

public enum RecordingErrorCode: String, Sendable {
    /// A `--redact` pattern is unusable.
    case invalidRedaction
    /// An earlier recording is where this one would be written.
    case exists
    /// Where recordings go cannot be made (a directory on a read-only file
    /// system, without permission).
    case output
}
