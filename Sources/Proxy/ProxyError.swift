import TapedeckErrors

/// A proxy that cannot start or go on.
public typealias ProxyError = TapedeckError<ProxyErrorCode>

public enum ProxyErrorCode: String, Sendable {
    /// A listener could not be bound.
    case listen
    /// The proxy's settings (a config file, an option, a listener that is
    /// a host name or a Unix path too long) are unusable.
    case configuration
    /// The upstream has no address: a host name no one knows (or the name
    /// server failed), a Unix path too long.
    case upstream
}
