import ServiceLifecycle

/// The live status line on a terminal as a `Service`: redrawn every second
/// from `text` until graceful shutdown, then cleared. Draws nothing when
/// standard error is not a terminal or `enabled` is false.
struct StatusLineService: Service {
    let enabled: Bool
    let text: @Sendable () -> String

    func run() async throws {
        guard enabled, StatusLine.shared.isTerminal else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                StatusLine.shared.show(text())
                try? await Task.sleep(for: .seconds(1))
            }
        }
        StatusLine.shared.clear()
    }
}
