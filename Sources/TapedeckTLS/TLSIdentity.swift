import NIOSSL
import X509

/// A certificate chain (leaf first) and its private key: what one side of
/// a TLS connection shows the other.
public struct TLSIdentity: Sendable {
    public let chain: [NIOSSLCertificate]
    public let key: NIOSSLPrivateKey

    /// From PEM text; `source` names where it came from in errors.
    public init(certificatePEM: String, keyPEM: String, source: String) throws {
        try self.init(certificatePEM: certificatePEM, keyPEM: keyPEM, certificateSource: source, keySource: "\(source)'s key")
    }

    /// From a PEM certificate file (leaf first, then intermediates) and a PEM key file.
    public init(certificateFile: String, keyFile: String) throws {
        let certificateText = try readText(certificateFile, what: "certificate")
        let keyText = try readText(keyFile, what: "private key")
        try self.init(certificatePEM: certificateText, keyPEM: keyText, certificateSource: certificateFile, keySource: keyFile)
        // A key that is not the certificate's fails every handshake: say so now.
        // (A key type X509 cannot read goes unchecked: the handshake tells.)
        if let leaf = try? Certificate(derEncoded: chain[0].toDERBytes()),
            let privateKey = try? Certificate.PrivateKey(pemEncoded: keyText),
            leaf.publicKey != privateKey.publicKey
        {
            throw TLSError("\(keyFile) is not the private key of \(certificateFile)")
        }
    }

    /// The errors name `certificateSource` and `keySource`.
    private init(certificatePEM: String, keyPEM: String, certificateSource: String, keySource: String) throws {
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        } catch {
            throw TLSError("\(certificateSource) is not a PEM certificate")
        }
        guard !chain.isEmpty else { throw TLSError("\(certificateSource) holds no PEM certificate") }
        do {
            key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch {
            throw TLSError("\(keySource) is not a PEM private key")
        }
    }
}
