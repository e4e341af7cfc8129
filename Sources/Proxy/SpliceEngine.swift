#if os(Linux)
import Atomics
import NIOCore

/// The threads that move spliced sessions' bytes (`tapedeck-splice` in
/// `top -H`): each polls its sessions' sockets (edge-triggered epoll) and
/// splices whatever can move. Sessions are spread over the workers as
/// they come; a session stays on its worker until it ends or is handed
/// back to NIO.
///
/// Threading: every method may be called from any thread.
final class SpliceEngine: Sendable {
    /// One per process, started on first use (a proxy that splices starts it with its listeners).
    static let shared = SpliceEngine(threads: min(2, max(1, System.coreCount)))

    private let workers: [SpliceWorker]
    private let next = ManagedAtomic<Int>(0)

    private init(threads: Int) {
        workers = (0..<threads).compactMap { _ in SpliceWorker.start() }
    }

    /// Starts splicing `session`; nil when no worker could start (no splicing then).
    func add(_ session: SplicedSession) -> SpliceHandle? {
        guard !workers.isEmpty else { return nil }
        let worker = workers[next.loadThenWrappingIncrement(ordering: .relaxed) % workers.count]
        return worker.add(session)
    }
}

/// What a proxy keeps of one spliced session, to stop it.
///
/// Threading: any thread. A request for a session that has already ended
/// does nothing.
struct SpliceHandle: Sendable {
    let worker: SpliceWorker
    let token: UInt64

    /// Stops splicing and hands the sockets back (`SplicedSession.handBack`).
    func handBack() {
        worker.send(.handBack(token))
    }

    /// Closes both sockets: the session ends.
    func close() {
        worker.send(.close(token))
    }
}

#else
/// No splicing outside Linux: nothing is ever spliced, so nothing is stopped.
struct SpliceHandle: Sendable {
    func handBack() {}
    func close() {}
}
#endif
