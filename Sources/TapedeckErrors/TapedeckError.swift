/// The one shape of the errors Tapedeck's modules throw: a code saying what
/// kind of failure it is, and one line saying what failed, on what, and why
/// (`cannot listen on 127.0.0.1:6380: address already in use`), fit for a
/// CLI error, a log entry or an HTTP body.
///
/// Each module names its own: `FaultError`, `RecordingError`,
/// `SocketError`, `ProxyError`, `ReplayError`, each with a `…ErrorCode`
/// enum. This module holds nothing else, so that every module, however
/// low, can throw errors of this shape.
public struct TapedeckError<Code: Hashable & Sendable>: Error, Hashable, CustomStringConvertible, Sendable {
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
