import ServiceLifecycle

/// A proxy's life as a `Service` in a `ServiceGroup`: listen (unless the
/// proxy already does) and accept, serve until graceful shutdown or
/// cancellation, then stop accepting, give live sessions `grace` to finish
/// and close the rest. A proxy only prepared (`prepare`) starts accepting
/// here, so its "listening" line comes once the group catches SIGINT and
/// SIGTERM.
///
/// Put it after the recorder it reports to, so the group shuts the proxy
/// down before it closes the recording.
public struct ProxyService: Service {
    public let proxy: ProxyServer
    public let grace: Duration

    public init(_ proxy: ProxyServer, grace: Duration) {
        self.proxy = proxy
        self.grace = grace
    }

    public func run() async throws {
        if proxy.isListening {
            proxy.startAccepting()
        } else {
            try await proxy.start()
        }
        try? await gracefulShutdown()
        await proxy.shutdown(grace: grace)
    }
}
