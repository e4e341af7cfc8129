#if os(Linux)
import Glibc
import CSplice
import NIOCore
import PcapFile
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
/// - Small reads: a direction whose reads are small (requests and answers,
///   not a stream) moves them with `read(2)` into its worker's buffer and
///   `write(2)`, two calls a hop as on NIO, where `splice(2)` would take
///   three (it cannot tell a drained socket from a full pipe without one
///   more call); a read that fills the buffer turns the direction to
///   splicing, one of under 16 KiB back. What a copy could not write waits
///   in the direction's `pending` bytes (at most one buffer's worth), and
///   the source is not read until they are written.
/// - Readiness: the worker says which socket an event is for; a direction
///   reads its source only after the poll said it may (edge-triggered) and
///   until a read finds it drained, so an event costs no read of the other
///   direction's idle socket.
/// - Handing back: `handBack()` stops it with both sockets open and returns
///   what the pipes and pending bytes still hold, each direction's bytes in
///   order, for the NIO path to write first.
/// - Recording: a recorded session (`SpliceRecording`) always copies, each
///   read into a buffer of its own that goes to the recorder before it is
///   written on, and records its endings as `CaptureTap` does on NIO: a
///   source's end as a FIN in its direction, a reset as an RST from that
///   side (the one passed on to the other peer adds nothing: a session's
///   first RST ends both directions of its recording), a close of both as a
///   FIN each way. While the recorder's
///   backlog is full (`--on-backlog backpressure`) it reads nothing, writes
///   what it read, and the worker resumes it when the backlog has drained.
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
        /// Read by copying and not yet written (empty whenever `queued` is not 0).
        var pending: [UInt8] = []
        /// The poll said the source may hold bytes (or its end), and no read found it drained since.
        var mayRead = true
        /// The poll said the source's end has come: a short read does not
        /// mean drained then, the end is still to be read.
        var endAnnounced = false
        /// Reads are small: copy them rather than splice.
        var copying = true
        /// A recorded direction's next read buffer size: doubled after a
        /// read that filled it, halved after one that used under an eighth.
        var readSize = SpliceRecording.smallestRead
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
    private let recording: SpliceRecording?
    /// The recorder's backlog is full: no source is read until the worker
    /// resumes the session (`resumeReads`).
    private var readsHeld = false
    /// Asks the worker to resume the session's reads; set when it is added.
    var wake: (@Sendable () -> Void)?
    private var isOver = false

    /// - Parameters:
    ///   - client, upstream: connected stream sockets, owned from now on.
    ///   - count: bytes read from one side (the NIO path's counters).
    ///   - onEnd: called once both sockets are closed (on the worker's thread).
    ///   - onHandBack: called when `handBack()` gave the sockets back.
    ///   - recording: where a recorded session's bytes and endings go.
    init(
        client: CInt,
        upstream: CInt,
        count: @escaping @Sendable (Int, Direction) -> Void,
        onEnd: @escaping @Sendable () -> Void,
        onHandBack: @escaping @Sendable (HandBack) -> Void,
        recording: SpliceRecording? = nil
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
        self.recording = recording
    }

    /// Which socket a poll event was for.
    enum Side: Int {
        case client = 0
        case upstream = 1
    }

    /// Moves every byte that can move now, both ways, until nothing does.
    /// `readable`: the poll said this socket may be read (nil: no event, try both).
    /// `ended`: the poll said that socket's peer ended its input.
    /// `errorReported`: the poll said a socket has an error or hung up.
    /// `scratch`: the worker's buffer for copied reads.
    func pump(readable: Side? = nil, ended: Bool = false, errorReported: Bool = false, spare: inout [SplicePipe], scratch: UnsafeMutableRawBufferPointer) -> Outcome {
        guard !isOver else { return .ended }
        // A direction's index is its source's side.
        if let readable {
            flows[readable.rawValue].mayRead = true
            if ended { flows[readable.rawValue].endAnnounced = true }
        }
        do throws(Failure) {
            if errorReported {
                for index in flows.indices {
                    flows[index].mayRead = true
                    flows[index].endAnnounced = true
                }
                try checkPendingErrors()
            }
            var moved = true
            while moved {
                moved = false
                for index in flows.indices {
                    if try move(&flows[index], spare: &spare, scratch: scratch) { moved = true }
                }
            }
            for index in flows.indices where flows[index].queued == 0 {
                recycle(&flows[index], into: &spare)
            }
        } catch {
            switch error {
            case .reset(let socket):
                recording?.record(.reset, socket == client ? .clientToServer : .serverToClient)
                reset(socket == client ? upstream : client)
                close(socket)
                return finish(&spare)
            case .failed:
                recordEnds()
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
            held.append(flows[index].pending + (flows[index].pipe?.drain() ?? []))
            flows[index].pending = []
            flows[index].queued = 0
            recycle(&flows[index], into: &spare)
        }
        onHandBack(HandBack(client: client, upstream: upstream, toUpstream: held[0], toClient: held[1]))
    }

    /// Closes both sockets now (a FIN to each peer, or an RST where bytes were left unread).
    func closeBoth(spare: inout [SplicePipe]) {
        guard !isOver else { return }
        // Each peer sees the other end with a FIN, as `ProxyShutdown` records on NIO.
        recording?.record(.halfClose, .clientToServer)
        recording?.record(.halfClose, .serverToClient)
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

    /// One step of one direction: read the source (copying or into the
    /// pipe), write what it holds to the destination, shut the
    /// destination's output at the source's end. True when anything moved.
    private func move(_ flow: inout Flow, spare: inout [SplicePipe], scratch: UnsafeMutableRawBufferPointer) throws(Failure) -> Bool {
        guard !flow.isDone else { return false }
        var moved = false
        if !flow.pending.isEmpty {
            let written = flow.pending.withUnsafeBytes { write(flow.destination, $0.baseAddress, $0.count) }
            if written > 0 {
                flow.pending.removeFirst(written)
                moved = true
            } else if written < 0, errno != EAGAIN, errno != EINTR {
                throw Self.failure(errno, flow.destination)
            }
        }
        // Nothing is read past bytes still pending: they go first.
        if flow.pending.isEmpty {
            if flow.copying, flow.queued == 0 {
                if flow.mayRead, !flow.sourceEnded, !readsHeld {
                    moved = try copy(&flow, scratch: scratch) || moved
                }
            } else {
                moved = try splice(&flow, spare: &spare) || moved
            }
        }
        if flow.sourceEnded, flow.queued == 0, flow.pending.isEmpty {
            // A peer already gone fails here; its reset, if any, shows on the next read.
            _ = shutdown(flow.destination, CInt(SHUT_WR))
            flow.destinationShut = true
            moved = true
        }
        return moved
    }

    /// Reads once into `scratch` and writes it on; what the destination
    /// cannot take yet waits in `pending`. A read that fills the buffer
    /// turns an unrecorded direction to splicing. A recorded session's
    /// small reads are lent to the recorder from `scratch` (it keeps a copy
    /// only in their frames); its larger ones go into a buffer of their own,
    /// which the recorder keeps.
    private func copy(_ flow: inout Flow, scratch: UnsafeMutableRawBufferPointer) throws(Failure) -> Bool {
        var recorded: ByteBuffer?
        let read: Int
        let capacity: Int
        if recording != nil, flow.readSize > SpliceRecording.smallestRead {
            var buffer = SpliceRecording.allocator.buffer(capacity: flow.readSize)
            capacity = buffer.writableBytes
            read = buffer.withUnsafeMutableWritableBytes { Glibc.read(flow.source, $0.baseAddress, $0.count) }
            if read > 0 {
                buffer.moveWriterIndex(forwardBy: read)
                recorded = buffer
            }
        } else {
            capacity = recording == nil ? scratch.count : flow.readSize
            read = Glibc.read(flow.source, scratch.baseAddress, capacity)
        }
        if read == 0 {
            flow.sourceEnded = true
            recording?.record(.halfClose, flow.direction)
            return true
        }
        guard read > 0 else {
            if errno == EAGAIN {
                flow.mayRead = false
            } else if errno != EINTR {
                throw Self.failure(errno, flow.source)
            }
            return false
        }
        count(read, flow.direction)
        if read < capacity {
            // A stream socket's short read leaves it drained; the poll says
            // when more comes, but not again of an end it already announced.
            flow.mayRead = flow.endAnnounced
        } else if recording == nil {
            flow.copying = false
        }
        if let recording {
            flow.readSize = SpliceRecording.nextReadSize(after: read, of: capacity)
            if let recorded {
                recording.record(.data(recorded), flow.direction)
            } else {
                recording.record(copying: UnsafeRawBufferPointer(rebasing: scratch[0..<read]), flow.direction)
            }
            if let drained = recording.sink.backlogDrained(on: recording.loop) {
                readsHeld = true
                let wake = self.wake
                drained.whenSuccess { wake?() }
            }
        }
        guard let recorded else {
            try send(UnsafeRawBufferPointer(rebasing: scratch[0..<read]), on: &flow)
            return true
        }
        var failure: Failure?
        recorded.withUnsafeReadableBytes { bytes in
            do throws(Failure) { try send(bytes, on: &flow) } catch { failure = error }
        }
        if let failure { throw failure }
        return true
    }

    /// Writes `bytes`, read from `flow`'s source, to its destination; what
    /// it cannot take yet waits in `pending`.
    private func send(_ bytes: UnsafeRawBufferPointer, on flow: inout Flow) throws(Failure) {
        var written = write(flow.destination, bytes.baseAddress, bytes.count)
        if written < 0 {
            guard errno == EAGAIN || errno == EINTR else { throw Self.failure(errno, flow.destination) }
            written = 0
        }
        if written < bytes.count {
            flow.pending = Array(UnsafeRawBufferPointer(rebasing: bytes[written...]))
        }
    }

    /// The recorder's backlog has drained: sources are read again.
    func resumeReads() {
        readsHeld = false
    }

    /// Both sockets close after a failure that was not a reset: each
    /// direction not ended yet ends with a FIN, as each peer sees it.
    private func recordEnds() {
        guard let recording else { return }
        for flow in flows where !flow.sourceEnded {
            recording.record(.halfClose, flow.direction)
        }
    }

    /// Fills the pipe from the source until the source is drained or the
    /// pipe full, and empties it into the destination. A small read turns
    /// the direction back to copying once the pipe is empty.
    private func splice(_ flow: inout Flow, spare: inout [SplicePipe]) throws(Failure) -> Bool {
        let mayRead = flow.mayRead && !flow.sourceEnded
        guard mayRead || flow.queued > 0 else { return false }
        if flow.pipe == nil {
            guard let pipe = spare.popLast() ?? SplicePipe.make() else { throw .cannotSplice }
            flow.pipe = pipe
        }
        guard let pipe = flow.pipe else { return false }
        var moved = false
        if mayRead, flow.queued < pipe.capacity {
            let read = csplice_move(flow.source, pipe.input, pipe.capacity - flow.queued)
            if read > 0 {
                flow.queued += read
                count(read, flow.direction)
                flow.copying = read < Self.smallRead
                moved = true
            } else if read == 0 {
                guard Self.atEndOfInput(flow.source) else { throw .cannotSplice }
                flow.sourceEnded = true
                moved = true
            } else if errno == EAGAIN {
                flow.mayRead = false
            } else if errno != EINTR {
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
        return moved
    }

    /// A splice read under this turns a direction back to copying.
    private static let smallRead = 16 << 10

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
/// What a recorded session on the splice path reports to its recorder.
struct SpliceRecording: Sendable {
    let sink: SessionSink
    let session: UInt64
    /// The session's event loop: where the backlog's drain is awaited.
    let loop: EventLoop

    static let allocator = ByteBufferAllocator()
    static let smallestRead = 2 << 10
    /// As large as a NIO leg reads at once.
    static let largestRead = 256 << 10

    func record(_ kind: SessionEvent.Kind, _ direction: Direction) {
        sink.record(SessionEvent(time: .now(), direction: direction, kind: kind), session: session)
    }

    /// Bytes read into the worker's own buffer, lent for the call.
    func record(copying bytes: UnsafeRawBufferPointer, _ direction: Direction) {
        sink.record(copying: bytes, direction: direction, at: .now(), session: session)
    }

    static func nextReadSize(after read: Int, of capacity: Int) -> Int {
        if read >= capacity { return min(capacity * 2, largestRead) }
        if read < capacity / 8 { return max(capacity / 2, smallestRead) }
        return capacity
    }
}
#endif
