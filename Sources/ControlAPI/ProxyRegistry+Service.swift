import ServiceLifecycle

/// The registry's life as a `Service`: its proxies run from the moment they
/// are created; at graceful shutdown or cancellation every one is shut down
/// and its recording closed. Put it before the API's own service, so the
/// group stops answering requests before it stops the proxies.
extension ProxyRegistry: Service {
    public nonisolated func run() async throws {
        try? await gracefulShutdown()
        await shutdown(grace: .zero)
    }
}
