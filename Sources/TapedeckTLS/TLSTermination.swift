import NIOCore
import NIOSSL

/// How Tapedeck ends a client's TLS: with one certificate, or with a local
/// CA's certificate for whatever name the client asks for.
public struct TLSTermination: Sendable {
    public enum Identity: Sendable {
        /// `--tls-cert`/`--tls-key`: the same certificate for every client.
        case fixed(TLSIdentity)
        /// `--tls-ca DIR`: a leaf for the client's SNI name, issued on the fly.
        case authority(LocalCA)
    }

    public var identity: Identity
    /// Where both sides' secrets go (`--keylog`), if anywhere.
    public var keyLog: KeyLogFile?

    public init(identity: Identity, keyLog: KeyLogFile? = nil) {
        self.identity = identity
        self.keyLog = keyLog
    }

    /// Server contexts for this termination, one per ALPN choice.
    package func contexts() throws -> ServerTLSContexts {
        try TLSContexts(serverConfiguration(), failure: "cannot use the TLS certificate and key")
    }

    private func serverConfiguration() throws -> TLSConfiguration {
        let base: TLSIdentity
        var callback: NIOSSLContextCallback?
        switch identity {
        case .fixed(let identity):
            base = identity
        case .authority(let authority):
            base = try authority.identity(for: nil)
            callback = { values, promise in
                do {
                    let issued = try authority.identity(for: values.serverHostname)
                    var override = NIOSSLContextConfigurationOverride()
                    override.certificateChain = issued.chain.map { .certificate($0) }
                    override.privateKey = .privateKey(issued.key)
                    promise.succeed(override)
                } catch {
                    promise.fail(error)
                }
            }
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: base.chain.map { .certificate($0) },
            privateKey: .privateKey(base.key)
        )
        configuration.sslContextCallback = callback
        configuration.keyLogCallback = keyLog?.callback
        return configuration
    }
}

/// Server-side contexts, one per list of application protocols offered.
package typealias ServerTLSContexts = TLSContexts
