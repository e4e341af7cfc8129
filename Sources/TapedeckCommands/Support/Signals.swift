import Dispatch
import Foundation
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

/// Logs the start of a graceful shutdown, between the services that stop
/// first and those that stop after it. When the group stops because a
/// service failed (the API cannot listen), it says nothing: the failure is
/// the one line the user reads.
struct ShutdownNotice: Service {
    let logger: Logger
    let grace: DurationArgument?

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        var metadata: Logger.Metadata = [:]
        if let grace { metadata["grace"] = "\(grace)" }
        logger.info("shutting down", metadata: metadata)
    }
}

/// Waits for SIGINT or SIGTERM; returns the signal's number.
func waitForTerminationSignal() async -> Int32 {
    await withCheckedContinuation { continuation in
        let queue = DispatchQueue(label: "tapedeck.signals")
        let fired = NSLock()
        var resumed = false
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                fired.lock()
                defer { fired.unlock() }
                guard !resumed else { return }
                resumed = true
                sources.forEach { $0.cancel() }
                continuation.resume(returning: number)
            }
            sources.append(source)
            source.resume()
        }
    }
}
