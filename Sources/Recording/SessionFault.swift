/// A fault that acted on a session, as its manifest lists it:
/// `{"name": "reset_peer_upstream", "type": "reset_peer", "stream": "upstream", "action": "reset"}`.
///
/// `name`, `type` and `stream` are the fault's own (Toxiproxy's words);
/// `action` is the most it did to the session, one of (from least to most)
/// `delayed`, `throttled`, `sliced`, `dropped` (bytes discarded), `closed`
/// (the connection closed with a FIN) and `reset` (with an RST). A fault
/// that applied to a session but changed nothing is not listed.
public struct SessionFault: Hashable, Sendable, Codable {
    public var name: String
    public var type: String
    public var stream: String
    public var action: String

    public init(name: String, type: String, stream: String, action: String) {
        self.name = name
        self.type = type
        self.stream = stream
        self.action = action
    }

    /// How `tapedeck inspect` shows it: `reset_peer_upstream: reset`.
    public var label: String { "\(name): \(action)" }
}
