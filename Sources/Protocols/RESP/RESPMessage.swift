import NIOCore

/// A RESP message: a command from the client, or a reply or push from the server.
public struct RESPMessage: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case command(RESPCommand)
        /// A server value; `type` is its own type (any attribute before it is skipped).
        case reply(type: RESPType, hasAttribute: Bool)
    }

    public var kind: Kind

    public init(kind: Kind) {
        self.kind = kind
    }

    public var command: RESPCommand? {
        if case .command(let command) = kind { return command }
        return nil
    }

    /// The reply's type, for a server message.
    public var replyType: RESPType? {
        if case .reply(let type, _) = kind { return type }
        return nil
    }
}
