import Recording

/// A proxy that cannot start or go on.
public typealias ProxyError = TapedeckError<ProxyErrorCode>

public enum ProxyErrorCode: String, Sendable {
    /// A listener could not be bound.
    case listen
    /// The proxy's settings (a config file, an option) are unusable.
    case configuration
}
