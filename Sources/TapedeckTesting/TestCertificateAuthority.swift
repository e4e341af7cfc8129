import Foundation
import NIOSSL
import Proxy
import TapedeckTLS

/// A throw-away certificate authority for one test: it issues the
/// certificates a `MockServer` or `FaultProxy` shows (one per name a client
/// asks for), and hands the test the PEM its client must trust.
///
/// ```swift
/// let ca = try TestCertificateAuthority()
/// let server = try await MockServer.start(recording: "api.pcap", tls: try ca.serving())
/// try ca.writeCertificate(to: caPath)   // the client under test trusts caPath
/// ```
public struct TestCertificateAuthority: Sendable {
    public let authority: LocalCA

    public init() throws {
        authority = try LocalCA(commonName: "Tapedeck test CA")
    }

    /// The CA's certificate (PEM), for the client's trust store.
    public var certificatePEM: String { authority.certificatePEM }

    /// Writes the CA's certificate to `path` (for `curl --cacert`, `sslrootcert=`, …).
    public func writeCertificate(to path: String) throws {
        try certificatePEM.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// TLS for a `MockServer`'s listener, with certificates from this CA.
    public func serving(postgres: Bool = false, applicationProtocols: [String] = []) throws -> ServingTLS {
        try ServingTLS(termination: TLSTermination(identity: .authority(authority)), postgres: postgres, applicationProtocols: applicationProtocols)
    }

    /// TLS for a `FaultProxy`: clients' TLS ended with this CA's
    /// certificates; toward the upstream, `upstream` (nil: plaintext).
    public func proxying(upstream: TLSOrigination? = nil, postgres: Bool = false) throws -> ProxyTLS {
        try ProxyTLS(termination: TLSTermination(identity: .authority(authority)), origination: upstream, postgres: postgres)
    }

    /// What a client (or a proxy's upstream leg) needs to trust this CA.
    public var origination: TLSOrigination {
        get throws {
            TLSOrigination(trustedCertificates: try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)))
        }
    }
}
