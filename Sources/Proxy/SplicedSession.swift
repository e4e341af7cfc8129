#if os(Linux)
import Glibc
import CSplice
import Recording

/// A session whose bytes move socket to pipe to socket with `splice(2)`,
/// never entering user space: both its sockets (duplicates of what NIO
/// had), and a pipe per direction.
///
/// - Half-close: a source's end of input shuts the other socket's output
///   once the pipe has drained into it; the session ends when both
///   directions have.
/// - Reset: a reset on one socket (reading it fails with ECONNRESET,
///   writing it with EPIPE or ECONNRESET, or an error reported on it)
///   resets the other (SO_LINGER 0, then close); any other failure closes
///   both.
/// - Back-pressure: a direction reads its source only while its pipe has
///   room, so a session holds at most two pipes' worth of bytes.
/// - Pipes: a direction holds one only while bytes are in it; an empty one
///   goes back to the worker's spares, so an idle session holds none (two
///   descriptors a session, as on the NIO path).
/// - Handing back: `handBack()` stops it with both sockets open and returns
///   what the pipes still hold, each direction's bytes in order, for the NIO
///   path to write first.
///
/// Threading: made anywhere, then used by one `SpliceWorker` thread only.
final class SplicedSession: @unchecked Sendable {
    /// How a spliced session stopped.
    enum Outcome {
        /// Still moving bytes.
        case running
        /// Over: both sockets are closed.
        case ended
        /// It cannot go on spliced: the worker stops polling its sockets and calls `handBack`.
        case handingBack
    }

    /// The sockets and the bytes the pipes held, for the NIO path.
    struct HandBack: Sendable {
        var client: CInt
        var upstream: CInt
        /// Read from the client, not yet written to the upstream.
        var toUpstream: [UInt8]
        /// Read from the upstream, not yet written to the client.
        var toClient: [UInt8]
    }

    /// One direction: source socket to pipe to destination socket.
    private struct Flow {
        let direction: Direction
        let source: CInt
        let destination: CInt
        /// Held while `queued` is above 0, or for one pump.
        var pipe: SplicePipe?
        /// Bytes in the pipe.
        var queued = 0
        var sourceEnded = false
        var destinationShut = false

        var isDone: Bool { destinationShut }
    }

    private enum Failure: Error {
        /// The socket got an RST (or its Unix peer went away): the other gets one.
        case reset(CInt)
        /// Anything else: both are closed.
        case failed
        /// `splice` said end of input while the socket still holds bytes,
        /// or no pipe could be made (out of descriptors): the NIO path takes over.
        case cannotSplice
    }

    let client: CInt
    let upstream: CInt
    private var flows: [Flow]
    private let count: @Sendable (Int, Direction) -> Void
    private let onEnd: @Sendable () -> Void
    private let onHandBack: @Sendable (HandBack) -> Void
    private var isOver = false

    /// - Parameters:
    ///   - client, upstream: connected stream sockets, owned from now on.
    ///   - count: bytes read from one side (the NIO path's counters).
    ///   - onEnd: called once both sockets are closed (on the worker's thread).
    ///   - onHandBack: called when `handBack()` gave the sockets back.
    init(
        client: CInt,
        upstream: CInt,
        count: @escaping @Sendable (Int, Direction) -> Void,
        onEnd: @escaping @Sendable () -> Void,
        onHandBack: @escaping @Sendable (HandBack) -> Void
    ) {
        self.client = client
        self.upstream = upstream
        self.flows = [
            Flow(direction: .clientToServer, source: client, destination: upstream),
            Flow(direction: .serverToClient, source: upstream, destination: client),
        ]
        self.count = count
        self.onEnd = onEnd
        self.onHandBack = onHandBack
    }

    /// Moves every byte that can move now, both ways, until nothing does.
    /// `errorReported`: the poll said a socket has an error or hung up.
    func pump(errorReported: Bool = false, spare: inout [SplicePipe]) -> Outcome {
        guard !isOver else { return .ended }
        do throws(Failure) {
            if errorReported { try checkPendingErrors() }
            var moved = true
            while moved {
                moved = false
                for index in flows.indices {
                    if try move(&flows[index], spare: &spare) { moved = true }
                }
            }
            for index in flows.indices where flows[index].queued == 0 {
                recycle(&flows[index], into: &spare)
            }
        } catch {
            switch error {
            case .reset(let socket):
                reset(socket == client ? upstream : client)
                close(socket)
                return finish(&spare)
            case .failed:
                close(client)
                close(upstream)
                return finish(&spare)
            case .cannotSplice:
                return .handingBack
            }
        }
        guard flows.allSatisfy(\.isDone) else { return .running }
        close(client)
        close(upstream)
        return finish(&spare)
    }

    /// Stops splicing with both sockets open (no longer polled): what the
    /// pipes hold is read out, and `onHandBack` gets it with the sockets.
    func handBack(spare: inout [SplicePipe]) {
        guard !isOver else { return }
        isOver = true
        var held: [[UInt8]] = []
        for index in flows.indices {
            held.append(flows[index].pipe?.drain() ?? [])
            flows[index].queued = 0
            recycle(&flows[index], into: &spare)
        }
        onHandBack(HandBack(client: client, upstream: upstream, toUpstream: held[0], toClient: held[1]))
    }

    /// Closes both sockets now (a FIN to each peer, or an RST where bytes were left unread).
    func closeBoth(spare: inout [SplicePipe]) {
        guard !isOver else { return }
        close(client)
        close(upstream)
        _ = finish(&spare)
    }

    private func finish(_ spare: inout [SplicePipe]) -> Outcome {
        isOver = true
        for index in flows.indices {
            recycle(&flows[index], into: &spare)
        }
        onEnd()
        return .ended
    }

    /// An empty pipe goes back for another session; one still holding bytes is closed.
    private func recycle(_ flow: inout Flow, into spare: inout [SplicePipe]) {
        guard let pipe = flow.pipe else { return }
        flow.pipe = nil
        if flow.queued == 0, spare.count < SplicePipe.spareLimit {
            spare.append(pipe)
        } else {
            pipe.close()
        }
    }

    /// One step of one direction: fill the pipe from the source, empty it
    /// into the destination, shut the destination's output at the source's
    /// end. True when anything moved.
    private func move(_ flow: inout Flow, spare: inout [SplicePipe]) throws(Failure) -> Bool {
        guard !flow.isDone else { return false }
        if flow.pipe == nil {
            guard let pipe = spare.popLast() ?? SplicePipe.make() else { throw .cannotSplice }
            flow.pipe = pipe
        }
        guard let pipe = flow.pipe else { return false }
        var moved = false
        if !flow.sourceEnded, flow.queued < pipe.capacity {
            let read = csplice_move(flow.source, pipe.input, pipe.capacity - flow.queued)
            if read > 0 {
                flow.queued += read
                count(read, flow.direction)
                moved = true
            } else if read == 0 {
                guard Self.atEndOfInput(flow.source) else { throw .cannotSplice }
                flow.sourceEnded = true
                moved = true
            } else if errno != EAGAIN, errno != EINTR {
                throw Self.failure(errno, flow.source)
            }
        }
        if flow.queued > 0 {
            let written = csplice_move(pipe.output, flow.destination, flow.queued)
            if written > 0 {
                flow.queued -= written
                moved = true
            } else if written < 0, errno != EAGAIN, errno != EINTR {
                throw Self.failure(errno, flow.destination)
            }
        }
        if flow.sourceEnded, flow.queued == 0 {
            // A peer already gone fails here; its reset, if any, shows on the next read.
            _ = shutdown(flow.destination, CInt(SHUT_WR))
            flow.destinationShut = true
            moved = true
        }
        return moved
    }

    /// `splice` returns 0 at the end of input, and (rarely: urgent data)
    /// when it cannot move what the socket holds; a peek tells them apart.
    private static func atEndOfInput(_ socket: CInt) -> Bool {
        var byte: UInt8 = 0
        return recv(socket, &byte, 1, CInt(MSG_PEEK) | CInt(MSG_DONTWAIT)) == 0
    }

    private static func failure(_ code: CInt, _ socket: CInt) -> Failure {
        code == ECONNRESET || code == EPIPE ? .reset(socket) : .failed
    }

    /// An error the poll reported on a socket whose direction is idle (its
    /// peer reset after its end of input) would otherwise go unseen.
    private func checkPendingErrors() throws(Failure) {
        for socket in [client, upstream] {
            var code: CInt = 0
            var length = socklen_t(MemoryLayout<CInt>.size)
            guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &code, &length) == 0, code != 0 else { continue }
            throw Self.failure(code, socket)
        }
    }

    /// Closes `socket` with an RST (a Unix socket's peer sees the close).
    private func reset(_ socket: CInt) {
        var immediately = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_LINGER, &immediately, socklen_t(MemoryLayout<linger>.size))
        close(socket)
    }
}
#endif
