import PcapFile

/// How a session ended, as far as the recording knows.
public enum SessionEnd: String, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Both directions half-closed (FIN each way).
    case fin
    /// One side reset the connection.
    case reset = "rst"
    /// The recording ended with the session still open.
    case open
    public var description: String { rawValue.uppercased() }
}

/// One TCP or Unix-socket conversation between a client and a server.
public struct Session: Hashable, Sendable {
    /// The session's index in its recording, from 0, in order of opening.
    public var index: Int
    /// An id unique across a proxy's run (and so across its rotated and
    /// per-session files); synthetic Unix-socket addresses are derived from it.
    public var id: UInt64
    public var client: Endpoint
    public var server: Endpoint
    public var opened: Timestamp
    /// True when the capture holds no handshake: it started after the
    /// session did, so its first bytes may be mid-message.
    public var startedMidFlow: Bool
    /// The addresses the frames carry when they are not the real endpoints
    /// (a Unix socket's synthetic address, an IPv4-mapped address): `[client, server]`.
    public var wire: [Endpoint]?
    /// The faults that acted on the session, by name (a recording's
    /// manifest keeps them; the pcap cannot).
    public var faults: [SessionFault] = []
    /// The session travelled inside TLS (what it recorded is the plaintext).
    public var tls: SessionTLS?

    public init(index: Int, id: UInt64? = nil, client: Endpoint, server: Endpoint, opened: Timestamp, startedMidFlow: Bool = false) {
        self.index = index
        self.id = id ?? UInt64(index)
        self.client = client
        self.server = server
        self.opened = opened
        self.startedMidFlow = startedMidFlow
    }
}
