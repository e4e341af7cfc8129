import Recording

/// A socket that cannot be set up.
package typealias SocketError = TapedeckError<SocketErrorCode>

package enum SocketErrorCode: String, Sendable {
    /// A Unix socket file's permissions could not be set.
    case socketMode
    /// A listener could not be bound (address in use, permission denied).
    case bind
}
