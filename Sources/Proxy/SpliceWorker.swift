#if os(Linux)
import Atomics
import CSplice
import Glibc
import NIOConcurrencyHelpers

/// One splice thread and its sessions.
final class SpliceWorker: Sendable {
    enum Command: Sendable {
        case add(UInt64, SplicedSession)
        case handBack(UInt64)
        case close(UInt64)
        /// The recorder's backlog drained: the session reads again.
        case resume(UInt64)
    }

    private let epoll: CInt
    private let wakeUp: CInt
    private let inbox = NIOLockedValueBox<[Command]>([])
    private let nextToken = ManagedAtomic<UInt64>(1)
    /// The thread's own state.
    private let loop: NIOLockedValueBox<Loop>

    /// Owned by the worker's thread (the box is never contended).
    private struct Loop {
        var sessions: [UInt64: SplicedSession] = [:]
        var spare: [SplicePipe] = []
    }
    /// Where small reads are copied through (`SplicedSession.pump`); the
    /// thread's own, like `loop`, and as long-lived as the worker.
    nonisolated(unsafe) private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    private init(epoll: CInt, wakeUp: CInt) {
        self.epoll = epoll
        self.wakeUp = wakeUp
        self.loop = NIOLockedValueBox(Loop())
    }

    /// A worker with its thread running, or nil when its epoll, eventfd or thread cannot be made.
    static func start() -> SpliceWorker? {
        let epoll = csplice_epoll_create()
        guard epoll >= 0 else { return nil }
        let wakeUp = csplice_eventfd()
        guard wakeUp >= 0, csplice_epoll_add(epoll, wakeUp, 0) == 0 else {
            close(epoll)
            if wakeUp >= 0 { close(wakeUp) }
            return nil
        }
        let worker = SpliceWorker(epoll: epoll, wakeUp: wakeUp)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { argument in
            Unmanaged<SpliceWorker>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, Unmanaged.passRetained(worker).toOpaque())
        guard started == 0 else { return nil }
        pthread_detach(thread)
        return worker
    }

    func add(_ session: SplicedSession) -> SpliceHandle {
        let token = nextToken.loadThenWrappingIncrement(ordering: .relaxed)
        session.wake = { [weak self] in self?.send(.resume(token)) }
        send(.add(token, session))
        return SpliceHandle(worker: self, token: token)
    }

    func send(_ command: Command) {
        inbox.withLockedValue { $0.append(command) }
        var one: UInt64 = 1
        _ = write(wakeUp, &one, MemoryLayout<UInt64>.size)
    }

    private func run() -> Never {
        csplice_name_thread("tapedeck-splice")
        // A write to a socket its peer reset raises SIGPIPE on the thread
        // that splices; blocked here, it stays pending on this thread and
        // the write fails with EPIPE.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        var tokens = [UInt64](repeating: 0, count: 64)
        var flags = [UInt32](repeating: 0, count: 64)
        while true {
            // Spare pipes are closed after a second with nothing to do.
            let holdsSpares = loop.withLockedValue { !$0.spare.isEmpty }
            let count = csplice_epoll_wait(epoll, &tokens, &flags, 64, holdsSpares ? Self.spareLifetimeMilliseconds : -1)
            if count == 0 {
                loop.withLockedValue { loop in
                    for pipe in loop.spare { pipe.close() }
                    loop.spare = []
                }
            }
            guard count > 0 else { continue }
            loop.withLockedValue { loop in
                for index in 0..<Int(count) {
                    // A socket's poll token is its session's token and its side.
                    let token = tokens[index] >> 1
                    if tokens[index] == 0 {
                        drainInbox(&loop)
                    } else if let session = loop.sessions[token] {
                        let outcome = session.pump(
                            readable: flags[index] & CSPLICE_EVENT_READ != 0 ? SplicedSession.Side(rawValue: Int(tokens[index] & 1)) : nil,
                            ended: flags[index] & CSPLICE_EVENT_END != 0,
                            errorReported: flags[index] & CSPLICE_EVENT_ERROR != 0,
                            spare: &loop.spare,
                            scratch: scratch
                        )
                        settle(token, session, outcome, &loop)
                    }
                }
            }
        }
    }

    private static let spareLifetimeMilliseconds: CInt = 1000

    private func drainInbox(_ loop: inout Loop) {
        var counter: UInt64 = 0
        _ = read(wakeUp, &counter, MemoryLayout<UInt64>.size)
        let commands = inbox.withLockedValue { inbox in
            defer { inbox = [] }
            return inbox
        }
        for command in commands {
            switch command {
            case .add(let token, let session):
                guard csplice_epoll_add(epoll, session.client, token << 1 | UInt64(SplicedSession.Side.client.rawValue)) == 0,
                      csplice_epoll_add(epoll, session.upstream, token << 1 | UInt64(SplicedSession.Side.upstream.rawValue)) == 0
                else {
                    unregister(session)
                    session.handBack(spare: &loop.spare)
                    continue
                }
                loop.sessions[token] = session
                settle(token, session, session.pump(spare: &loop.spare, scratch: scratch), &loop)
            case .handBack(let token):
                guard let session = loop.sessions.removeValue(forKey: token) else { continue }
                unregister(session)
                session.handBack(spare: &loop.spare)
            case .close(let token):
                guard let session = loop.sessions.removeValue(forKey: token) else { continue }
                session.closeBoth(spare: &loop.spare)
            case .resume(let token):
                guard let session = loop.sessions[token] else { continue }
                session.resumeReads()
                settle(token, session, session.pump(spare: &loop.spare, scratch: scratch), &loop)
            }
        }
    }

    private func settle(_ token: UInt64, _ session: SplicedSession, _ outcome: SplicedSession.Outcome, _ loop: inout Loop) {
        switch outcome {
        case .running:
            break
        case .ended:
            loop.sessions[token] = nil
        case .handingBack:
            loop.sessions[token] = nil
            unregister(session)
            session.handBack(spare: &loop.spare)
        }
    }

    private func unregister(_ session: SplicedSession) {
        _ = csplice_epoll_remove(epoll, session.client)
        _ = csplice_epoll_remove(epoll, session.upstream)
    }
}
#endif
