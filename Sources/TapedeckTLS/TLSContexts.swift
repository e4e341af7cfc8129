import NIOConcurrencyHelpers
import NIOSSL

/// `NIOSSLContext`s made from one configuration, once per list of
/// application protocols offered (a context is costly: certificates, key,
/// settings).
///
/// Threading: safe from any event loop.
package final class TLSContexts: Sendable {
    private let configuration: TLSConfiguration
    /// What failed when BoringSSL refuses the configuration, for the error.
    private let failure: String
    private let made = NIOLockedValueBox<[[String]: NIOSSLContext]>([:])

    /// Makes the context with no ALPN now, so settings BoringSSL refuses
    /// (a certificate, a key) are an error at start, not at the first peer.
    init(_ configuration: TLSConfiguration, failure: String) throws {
        self.configuration = configuration
        self.failure = failure
        _ = try context(applicationProtocols: [])
    }

    /// The context that offers `applicationProtocols` (empty: no ALPN).
    package func context(applicationProtocols: [String]) throws -> NIOSSLContext {
        if let known = made.withLockedValue({ $0[applicationProtocols] }) { return known }
        var configuration = configuration
        configuration.applicationProtocols = applicationProtocols
        let fresh: NIOSSLContext
        do {
            fresh = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSError("\(failure): \(error)")
        }
        return made.withLockedValue { made in
            if let raced = made[applicationProtocols] { return raced }
            made[applicationProtocols] = fresh
            return fresh
        }
    }
}
