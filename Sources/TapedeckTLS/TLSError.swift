/// A TLS setting that cannot be used (a file missing or not a certificate,
/// a key that does not match), in one line for the user.
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
