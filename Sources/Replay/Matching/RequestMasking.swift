import NIOCore
import Protocols

/// What matching leaves out of requests before comparing them: the bytes
/// a request is looked up by in the "masked" tier, and its key in the "key"
/// tier. The identity by default; `--masks FILE` (learned by `tapedeck
/// noise`) fills it.
public struct RequestMasking: Sendable {
    public var bytes: @Sendable (ByteBuffer) -> ByteBuffer
    public var key: @Sendable (ExchangeKey) -> ExchangeKey
    /// False for the identity: the masked tier is then the exact tier and is skipped.
    public var masksBytes: Bool

    public init(bytes: (@Sendable (ByteBuffer) -> ByteBuffer)? = nil, key: (@Sendable (ExchangeKey) -> ExchangeKey)? = nil) {
        self.bytes = bytes ?? { $0 }
        self.key = key ?? { $0 }
        self.masksBytes = bytes != nil
    }

    public static let none = RequestMasking()
}
