import NIOConcurrencyHelpers
import NIOSSL

/// `NIOSSLContext`s made once per list of application protocols offered
/// (a context is costly: certificates, key, settings).
///
/// Threading: safe from any event loop.
package final class TLSContexts: Sendable {
    private let make: @Sendable (_ applicationProtocols: [String]) throws -> NIOSSLContext
    private let made = NIOLockedValueBox<[[String]: NIOSSLContext]>([:])

    /// Makes the context with no ALPN now, so settings BoringSSL refuses
    /// (a certificate, a key) are an error at start, not at the first peer.
    init(make: @escaping @Sendable (_ applicationProtocols: [String]) throws -> NIOSSLContext) throws {
        self.make = make
        _ = try context(applicationProtocols: [])
    }

    /// The context that offers `applicationProtocols` (empty: no ALPN).
    package func context(applicationProtocols: [String]) throws -> NIOSSLContext {
        if let known = made.withLockedValue({ $0[applicationProtocols] }) { return known }
        let fresh = try make(applicationProtocols)
        return made.withLockedValue { made in
            if let raced = made[applicationProtocols] { return raced }
            made[applicationProtocols] = fresh
            return fresh
        }
    }
}
