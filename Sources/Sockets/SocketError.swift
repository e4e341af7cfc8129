import TapedeckErrors

/// A socket that cannot be set up.
package typealias SocketError = TapedeckError<SocketErrorCode>

package enum SocketErrorCode: String, Sendable {
    /// A Unix socket file's permissions could not be set.
    case socketMode
    /// A listener could not be bound (address in use, a live process on
    /// the Unix socket, permission denied, out of file descriptors).
    case listen
    /// An endpoint that cannot be a socket address: a Unix path too long,
    /// a host name where a listener needs an address.
    case address
    /// A host name has no address (unknown, or the name server failed).
    case resolve
    /// None of a host name's addresses answered, each for its own reason.
    case connect
}
