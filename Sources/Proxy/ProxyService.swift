import ServiceLifecycle

/// A proxy's life as a `Service` in a `ServiceGroup`: listen (unless the
/// proxy already does), serve until graceful shutdown or cancellation, then
/// stop accepting, give live sessions `grace` to finish and close the rest.
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
        if !proxy.isListening {
            try await proxy.start()
        }
        try? await gracefulShutdown()
        await proxy.shutdown(grace: grace)
    }
}
