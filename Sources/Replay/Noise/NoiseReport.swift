import Protocols

/// What `tapedeck noise` found between two recordings of one scenario.
public struct NoiseReport: Sendable {
    public var protocolKind: ProtocolKind
    /// The masks proposed: one for every place the recordings differ that a mask can name.
    public var masks: Masks
    public var sessions: (a: Int, b: Int)
    /// Exchanges compared, and whether they were paired by order or by key.
    public var pairs: Int
    public var pairedByOrder: Bool
    /// Exchanges of either recording that found no partner: `A session 2 exchange 3: GET /x`.
    public var unpaired: [String]
    /// Each mask, with how many pairs it was seen in and one example.
    public var findings: [Finding]
    /// Differences no mask can hide (a status, a row count), each with how often and an example.
    public var unmaskable: [Finding]
    /// Sessions of either recording whose bytes could not be framed past some point.
    public var framingFailures: [String]

    public struct Finding: Sendable, Hashable {
        /// `header X-Request-Id`, `json $.requestId`, `bytes server /nonce=[0-9a-f]{16}/`.
        public var mask: String
        public var count: Int
        /// `GET /a: header X-Request-Id: "3f…" → "9c…"`.
        public var example: String
    }
}
