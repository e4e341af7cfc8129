import NIOCore

/// The one event-loop timer a fault handler keeps, for its pipeline's next
/// deadline: replaced only when that deadline changes. Used on the event
/// loop only.
package struct FaultTimer {
    private var scheduled: Scheduled<Void>?
    private var deadline: FaultInstant?

    public init() {}

    /// Runs `fire` at `deadline` on `eventLoop`, in place of a timer set for
    /// another instant; nil only cancels. `fire` calls `fired()` first, so
    /// that the next `set` schedules again.
    public mutating func set(_ deadline: FaultInstant?, on eventLoop: EventLoop, fire: @escaping () -> Void) {
        guard deadline != self.deadline else { return }
        cancel()
        self.deadline = deadline
        guard let deadline else { return }
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline.nioDeadline, fire)
    }

    /// Forgets the timer that is running now.
    public mutating func fired() {
        scheduled = nil
        deadline = nil
    }

    public mutating func cancel() {
        scheduled?.cancel()
        scheduled = nil
        deadline = nil
    }
}
