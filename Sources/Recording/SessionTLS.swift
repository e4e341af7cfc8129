/// A session that travelled inside TLS, as its manifest entry says: what
/// each leg's handshake settled, or why one failed. The recording itself
/// holds the plaintext.
///
/// `{"client": {"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256",
/// "sni": "api.internal", "alpn": "http/1.1"}, "upstream": {…}}`
public struct SessionTLS: Hashable, Sendable, Codable {
    /// One TLS connection's settled terms.
    public struct Leg: Hashable, Sendable, Codable {
        public var version: String?
        public var cipher: String?
        /// The name the client asked for (SNI).
        public var sni: String?
        /// The application protocol agreed (ALPN), if any.
        public var alpn: String?
        /// The subjects of the certificates the peer showed, leaf first.
        public var peerCertificates: [String]?

        public init(version: String? = nil, cipher: String? = nil, sni: String? = nil, alpn: String? = nil, peerCertificates: [String]? = nil) {
            self.version = version
            self.cipher = cipher
            self.sni = sni
            self.alpn = alpn
            self.peerCertificates = peerCertificates
        }

        enum CodingKeys: String, CodingKey {
            case version, cipher, sni, alpn
            case peerCertificates = "peer_certificates"
        }
    }

    /// Between the client and Tapedeck (nil: the client spoke plaintext).
    public var client: Leg?
    /// Between Tapedeck and the upstream (nil: plaintext upstream).
    public var upstream: Leg?
    /// Why a handshake failed; the session then carried no bytes.
    public var error: String?

    public init(client: Leg? = nil, upstream: Leg? = nil, error: String? = nil) {
        self.client = client
        self.upstream = upstream
        self.error = error
    }
}
