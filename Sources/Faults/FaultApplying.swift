import NIOCore

/// What both fault handlers — `FaultHandler` on what a channel reads,
/// `OutboundFaultHandler` on what it writes — do the same way: make the
/// pipeline once the handler knows its event loop's time, keep one timer
/// for the pipeline's next deadline, advance the pipeline when it fires,
/// and take new faults live. Each handler carries out the actions its own
/// way (`perform`).
///
/// Threading: the channel's event loop.
protocol FaultApplying: AnyObject {
    var plan: FaultPlan { get }
    var faults: [Fault] { get set }
    var pipeline: FaultPipeline? { get set }
    var context: ChannelHandlerContext? { get set }
    var timer: FaultTimer { get set }

    /// Forwards, discards, half-closes or closes as the pipeline decided.
    func perform(_ actions: [FaultPipeline.Action], context: ChannelHandlerContext)
}

extension FaultApplying {
    /// From `handlerAdded`: the faults start now.
    func startFaults(context: ChannelHandlerContext) {
        self.context = context
        pipeline = FaultPipeline(plan, faults: faults, at: context.eventLoop.faultNow)
        rescheduleTimer(context: context)
    }

    /// From `handlerRemoved`.
    func stopFaults() {
        timer.cancel()
        context = nil
    }

    /// Replaces the faults on the live connection (see
    /// ``FaultPipeline/update(faults:at:)``: nothing lost or reordered).
    func replaceFaults(_ faults: [Fault]) {
        self.faults = faults
        guard let context, let actions = pipeline?.update(faults: faults, at: context.eventLoop.faultNow) else { return }
        perform(actions, context: context)
    }

    /// Sets the timer for the pipeline's next deadline (or cancels it).
    func rescheduleTimer(context: ChannelHandlerContext) {
        timer.set(pipeline?.nextDeadline, on: context.eventLoop) { [self] in
            timer.fired()
            guard let context = self.context, var pipeline = self.pipeline else { return }
            let actions = pipeline.advance(to: context.eventLoop.faultNow)
            self.pipeline = pipeline
            perform(actions, context: context)
        }
    }
}
