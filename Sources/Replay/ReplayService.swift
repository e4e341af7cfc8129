import ServiceLifecycle

/// A replay server's life as a `Service` in a `ServiceGroup`: listen
/// (unless it already does), answer clients until graceful shutdown or
/// cancellation, then stop accepting and close live connections after
/// `grace`. Its `report` then says what happened.
public struct ReplayService: Service {
    public let server: ReplayServer
    public let grace: Duration

    public init(_ server: ReplayServer, grace: Duration = .zero) {
        self.server = server
        self.grace = grace
    }

    public func run() async throws {
        if !server.isListening {
            try await server.start()
        }
        try? await gracefulShutdown()
        await server.shutdown(grace: grace)
    }
}
