import Faults
import Recording

/// A proxy as a client sends it to `POST /proxies`, `POST /populate` or the
/// config file: `{"name", "listen", "upstream", "enabled"}`, plus (a Tapedeck
/// extension) `"toxics"`. Every field is optional here so that a missing one
/// is reported the way Toxiproxy words it; a client sends only the fields it
/// sets (`{"enabled": false}` disables a proxy).
public struct ProxyDefinition: Sendable, Codable {
    public var name: String?
    public var listen: String?
    public var upstream: String?
    public var enabled: Bool?
    public var toxics: [Fault]?
    /// TLS on the proxy's legs (a Tapedeck extension; absent: plaintext).
    public var tls: ProxyTLSDefinition?

    public init(name: String? = nil, listen: String? = nil, upstream: String? = nil, enabled: Bool? = nil, toxics: [Fault]? = nil, tls: ProxyTLSDefinition? = nil) {
        self.tls = tls
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = enabled
        self.toxics = toxics
    }

    /// Toxiproxy's check before creating: a name and an upstream.
    func requireFields(suffix: String = "") throws(APIError) -> (name: String, upstream: String) {
        guard let name, !name.isEmpty else { throw .badRequest("missing required field: name\(suffix)") }
        guard let upstream, !upstream.isEmpty else { throw .badRequest("missing required field: upstream\(suffix)") }
        return (name, upstream)
    }
}

/// A proxy as the API shows it. Its toxics are read as stated, unchecked,
/// so a client reads Toxiproxy's too (a toxic type Tapedeck does not have,
/// a bandwidth of 0).
public struct ProxyView: Sendable, Codable {
    public var name: String
    public var listen: String
    public var upstream: String
    public var enabled: Bool
    public var toxics: [FaultDefinition]
    /// Shown only for a proxy that has TLS settings.
    public var tls: ProxyTLSDefinition?
}

extension Endpoint {
    /// Parses `listen` and `upstream` as clients send them; a bad one is a
    /// 400. An upstream may be a host name (resolved when the proxy starts);
    /// whether a listener may be one is for the proxy to say.
    static func api(_ text: String, field: String) throws(APIError) -> Endpoint {
        do {
            return try Endpoint(parsing: text)
        } catch {
            throw .badRequest("\(field): \(error.description)")
        }
    }
}
