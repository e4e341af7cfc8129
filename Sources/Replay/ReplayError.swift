import TapedeckErrors

/// A replay that cannot start or go on.
public typealias ReplayError = TapedeckError<ReplayErrorCode>

public enum ReplayErrorCode: String, Sendable {
    /// An option's value is unusable (`--ignore-bytes`, `--session`, …).
    case invalidOption
    /// The recording holds nothing that can be replayed as asked.
    case noSession
    /// A listener could not be bound.
    case listen
    /// The target could not be reached.
    case connect
    /// A report or other output could not be written.
    case output
    /// A recording's bytes could not be read (or set aside while reading it).
    case read
}
