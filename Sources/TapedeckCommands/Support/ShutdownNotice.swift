import Logging
import ServiceLifecycle

/// Logs the start of a graceful shutdown. Last in the group's list, so it is
/// told first.
struct ShutdownNotice: Service {
    let logger: Logger
    let grace: DurationArgument?

    func run() async throws {
        // Cancelled, not shut down: another service failed, and says so itself.
        guard (try? await gracefulShutdown()) != nil else { return }
        var metadata: Logger.Metadata = [:]
        if let grace { metadata["grace"] = "\(grace)" }
        logger.info("shutting down", metadata: metadata)
    }
}
