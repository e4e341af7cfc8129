import Proxy
import TapedeckTLS

/// A proxy's TLS as the control API takes and shows it (a Tapedeck
/// extension; Toxiproxy clients that do not send it get plaintext proxies
/// as before): `{"ca": "/dir"}` or `{"cert": "…pem", "key": "…key"}` to end
/// clients' TLS, `"upstream_tls": true` (with `upstream_ca`,
/// `upstream_sni`, `upstream_insecure`) to speak TLS to the upstream,
/// `"postgres": true` for PostgreSQL's SSLRequest, `"keylog"` for secrets.
/// Paths are on the server's machine.
public struct ProxyTLSDefinition: Sendable, Codable, Equatable {
    public var cert: String?
    public var key: String?
    public var ca: String?
    public var upstreamTLS: Bool?
    public var upstreamCA: String?
    public var upstreamSNI: String?
    public var upstreamInsecure: Bool?
    public var postgres: Bool?
    public var keylog: String?

    enum CodingKeys: String, CodingKey {
        case cert, key, ca, postgres, keylog
        case upstreamTLS = "upstream_tls"
        case upstreamCA = "upstream_ca"
        case upstreamSNI = "upstream_sni"
        case upstreamInsecure = "upstream_insecure"
    }

    /// The proxy's TLS; a setting that cannot be used (a missing file, a
    /// key that is not the certificate's) is a 400 saying which.
    func proxyTLS() throws(APIError) -> ProxyTLS? {
        if (cert == nil) != (key == nil) { throw .badRequest("tls: cert and key go together") }
        if cert != nil, ca != nil { throw .badRequest("tls: give cert and key, or ca, not both") }
        let upstream = upstreamTLS ?? false
        if !upstream, upstreamCA != nil || upstreamSNI != nil || upstreamInsecure != nil {
            throw .badRequest("tls: upstream_ca, upstream_sni and upstream_insecure need upstream_tls")
        }
        do {
            let keyLog = try keylog.map { try KeyLogFile(path: $0) }
            var termination: TLSTermination?
            if let cert, let key {
                termination = TLSTermination(identity: .fixed(try TLSIdentity(certificateFile: cert, keyFile: key)), keyLog: keyLog)
            } else if let ca {
                termination = TLSTermination(identity: .authority(try LocalCA(directory: ca)), keyLog: keyLog)
            }
            let origination = upstream ? TLSOrigination(
                trustedCertificates: try upstreamCA.map { try TLSOrigination.certificates(inFile: $0) },
                serverName: upstreamSNI,
                insecure: upstreamInsecure ?? false,
                keyLog: keyLog
            ) : nil
            guard termination != nil || origination != nil else { return nil }
            return try ProxyTLS(termination: termination, origination: origination, postgres: postgres ?? false)
        } catch let error as TLSError {
            throw .badRequest("tls: \(error.message)")
        } catch {
            throw .badRequest("tls: \(error)")
        }
    }
}
