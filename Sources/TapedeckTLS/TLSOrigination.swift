import NIOCore
import NIOSSL

/// How Tapedeck starts TLS toward a server (`--upstream-tls`, `replay drive --tls`).
public struct TLSOrigination: Sendable {
    /// The certificates a server's chain must lead to: the system's roots,
    /// or those in one PEM file (`--upstream-ca`).
    public var trustedCertificates: [NIOSSLCertificate]?
    /// The name sent as SNI and checked against the server's certificate;
    /// nil: the client's SNI when proxying, else the upstream's host name.
    public var serverName: String?
    /// Accept any certificate (`--upstream-insecure`, for test servers).
    public var insecure: Bool
    /// A client certificate, for servers that ask for one (mutual TLS).
    public var identity: TLSIdentity?
    public var keyLog: KeyLogFile?

    public init(
        trustedCertificates: [NIOSSLCertificate]? = nil,
        serverName: String? = nil,
        insecure: Bool = false,
        identity: TLSIdentity? = nil,
        keyLog: KeyLogFile? = nil
    ) {
        self.trustedCertificates = trustedCertificates
        self.serverName = serverName
        self.insecure = insecure
        self.identity = identity
        self.keyLog = keyLog
    }

    /// The certificates of a PEM file (`--upstream-ca`), or a one-line error.
    public static func certificates(inFile path: String) throws -> [NIOSSLCertificate] {
        let text = try readText(path, what: "CA file")
        guard let found = try? NIOSSLCertificate.fromPEMBytes(Array(text.utf8)), !found.isEmpty else {
            throw TLSError("\(path) holds no PEM certificate")
        }
        return found
    }

    package func contexts() throws -> ClientTLSContexts {
        try ClientTLSContexts(self)
    }

    fileprivate var clientConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let trustedCertificates {
            configuration.trustRoots = .certificates(trustedCertificates)
        }
        if insecure {
            configuration.certificateVerification = .none
        }
        if let identity {
            configuration.certificateChain = identity.chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(identity.key)
        }
        configuration.keyLogCallback = keyLog?.callback
        return configuration
    }
}

/// Client-side `NIOSSLContext`s, one per list of application protocols
/// offered, and the origination they were made from.
///
/// Threading: safe from any event loop.
package final class ClientTLSContexts: Sendable {
    package let origination: TLSOrigination
    private let contexts: TLSContexts

    init(_ origination: TLSOrigination) throws {
        self.origination = origination
        self.contexts = try TLSContexts(origination.clientConfiguration, failure: "cannot set up TLS toward the server")
    }

    /// The context that offers `applicationProtocols` (empty: no ALPN).
    package func context(applicationProtocols: [String]) throws -> NIOSSLContext {
        try contexts.context(applicationProtocols: applicationProtocols)
    }

    /// The name to send as SNI and verify: `serverName`, else `fallback`
    /// unless it is an IP address (SNI carries names only).
    package func serverName(fallback: String?) -> String? {
        if let name = origination.serverName { return name }
        guard let fallback, LocalCA.ipBytes(fallback) == nil else { return nil }
        return fallback
    }
}
