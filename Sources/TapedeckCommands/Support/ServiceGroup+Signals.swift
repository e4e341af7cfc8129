import Logging
import ServiceLifecycle

extension ServiceGroup {
    /// Runs `services` until SIGINT or SIGTERM, then shuts them down
    /// gracefully in reverse order, each finishing before the next is told.
    static func runUntilSignalled(_ services: [any Service], logger: Logger) async throws {
        var quiet = logger
        // The group's own lines are for debugging Tapedeck, not for its users.
        quiet.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quiet
        ))
        try await group.run()
    }
}
