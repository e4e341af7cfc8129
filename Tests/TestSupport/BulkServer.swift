import Faults
import Foundation
import NIOCore
import NIOPosix
import Recording
import Sockets

#if canImport(Glibc)
import Glibc
#endif

/// An upstream for tests that sends a generated response of a size the
/// client asks for, with back-pressure (it writes only while writable, so a
/// slow client slows it instead of growing its memory), and reports what
/// each connection received and how it ended.
///
/// The client starts with a `BulkServer.Request` header (17 bytes); every
/// byte after it is taken in and kept for the report. The response is
/// `BulkServer.payload(seed:count:)`.
public final class BulkServer: Sendable {
    /// What a client asks for.
    public struct Request: Sendable {
        public enum Mode: UInt8, Sendable {
            /// Respond at once, then half-close (FIN); keep reading to the client's end.
            case respondAtOnce = 0
            /// Respond once the client has half-closed, then half-close.
            case respondAfterEnd = 1
            /// Respond at once, then reset the connection (RST).
            case respondThenReset = 2
            /// Send nothing; half-close once the client has.
            case silent = 3
        }

        public var responseBytes: Int
        public var seed: UInt64
        public var mode: Mode

        public init(responseBytes: Int, seed: UInt64, mode: Mode = .respondAtOnce) {
            self.responseBytes = responseBytes
            self.seed = seed
            self.mode = mode
        }

        public static let headerSize = 17

        /// The header bytes a client sends first.
        public var header: [UInt8] {
            var bytes: [UInt8] = []
            bytes += withUnsafeBytes(of: UInt64(responseBytes).bigEndian, Array.init)
            bytes += withUnsafeBytes(of: seed.bigEndian, Array.init)
            bytes.append(mode.rawValue)
            return bytes
        }

        init?(header: ByteBuffer) {
            guard let size = header.getInteger(at: header.readerIndex, as: UInt64.self),
                  let seed = header.getInteger(at: header.readerIndex + 8, as: UInt64.self),
                  let raw = header.getInteger(at: header.readerIndex + 16, as: UInt8.self),
                  let mode = Mode(rawValue: raw)
            else { return nil }
            self.init(responseBytes: Int(size), seed: seed, mode: mode)
        }
    }

    /// One finished connection.
    public struct Report: Sendable {
        /// Every byte received, header included.
        public var received: [UInt8]
        public var sentBytes: Int
        /// The connection ended with an error (a reset, for TCP) rather than a clean close.
        public var endedWithError: Bool
        public var error: String?
        /// The order in which the two half-closes happened: "client" / "server".
        public var halfCloses: [String]
    }

    public let endpoint: Endpoint
    private let channel: Channel
    private let box: ReportBox

    private init(endpoint: Endpoint, channel: Channel, box: ReportBox) {
        self.endpoint = endpoint
        self.channel = channel
        self.box = box
    }

    public static func start(on endpoint: Endpoint = .ip(.loopbackV4, port: 0), group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> BulkServer {
        let box = ReportBox()
        let channel = try await ServerBootstrap.smallServer(group: group) { channel in
            try channel.pipeline.syncOperations.addHandler(BulkHandler(box: box))
        }.bind(to: endpoint)
        return BulkServer(endpoint: endpoint.bound(by: channel), channel: channel, box: box)
    }

    public func stop() async {
        try? await channel.close()
    }

    /// Reports of finished connections, once `count` of them exist (in order
    /// of finishing); throws when they do not within `timeout`.
    public func reports(count: Int, timeout: Duration = .seconds(20)) async throws -> [Report] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let reports = box.lock.withLock { box.reports }
            if reports.count >= count { return reports }
            guard ContinuousClock.now < deadline else {
                throw BlockingClient.Failure(description: "bulk server: \(reports.count) of \(count) connections finished in \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The response for `seed`: a generated block of a prime length, repeated.
    public static func payload(seed: UInt64, count: Int) -> [UInt8] {
        let block = Self.block(seed: seed)
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            result += block.prefix(count - result.count)
        }
        return result
    }

    static let blockSize = 65_521

    static func block(seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: blockSize + 7)
        var index = 0
        while index < blockSize {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { raw in
                for offset in 0..<8 { bytes[index + offset] = raw[offset] }
            }
            index += 8
        }
        return Array(bytes.prefix(blockSize))
    }
}

final class ReportBox: @unchecked Sendable {
    let lock = NSLock()
    var reports: [BulkServer.Report] = []
}

final class BulkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let box: ReportBox
    private var received: [UInt8] = []
    private var request: BulkServer.Request?
    private var block = ByteBuffer()
    private var sent = 0
    private var sending = false
    private var inputEnded = false
    private var outputEnded = false
    private var error: Error?
    private var halfCloses: [String] = []
    private var reported = false

    init(box: ReportBox) {
        self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received += buffer.readableBytesView
        guard request == nil, received.count >= BulkServer.Request.headerSize else { return }
        guard let request = BulkServer.Request(header: ByteBuffer(bytes: received.prefix(BulkServer.Request.headerSize))) else {
            context.close(promise: nil)
            return
        }
        self.request = request
        block = ByteBuffer(bytes: BulkServer.block(seed: request.seed))
        if request.mode == .respondAtOnce || request.mode == .respondThenReset {
            startSending(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputEnded = true
            halfCloses.append("client")
            switch request?.mode {
            case .respondAfterEnd?: startSending(context: context)
            case .silent?: endOutput(context: context)
            case nil: endOutput(context: context)
            default: break
            }
            finishIfDone(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { sendMore(context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.error = self.error ?? error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        report()
    }

    private func startSending(context: ChannelHandlerContext) {
        guard !sending else { return }
        sending = true
        sendMore(context: context)
    }

    private func sendMore(context: ChannelHandlerContext) {
        guard sending, !outputEnded, let request else { return }
        while context.channel.isWritable && sent < request.responseBytes {
            let offset = sent % BulkServer.blockSize
            let count = min(request.responseBytes - sent, BulkServer.blockSize - offset)
            context.write(wrapOutboundOut(block.getSlice(at: offset, length: count)!), promise: nil)
            sent += count
        }
        context.flush()
        guard sent == request.responseBytes else { return }
        if request.mode == .respondThenReset {
            outputEnded = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                resetAndClose(channel)
            }
        } else {
            endOutput(context: context)
        }
    }

    private func endOutput(context: ChannelHandlerContext) {
        guard !outputEnded else { return }
        outputEnded = true
        // NIO turns a close of the output into a full close, dropping queued
        // writes, once the input is closed: wait for them first.
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { [self] _ in
            context.close(mode: .output).assumeIsolated().whenComplete { [self] _ in
                halfCloses.append("server")
                finishIfDone(context: context)
            }
        }
    }

    private func finishIfDone(context: ChannelHandlerContext) {
        if inputEnded && halfCloses.count == 2 {
            context.close(promise: nil)
        }
    }

    private func report() {
        guard !reported else { return }
        reported = true
        let report = BulkServer.Report(
            received: received,
            sentBytes: sent,
            endedWithError: error != nil,
            error: error.map { "\($0)" },
            halfCloses: halfCloses
        )
        box.lock.withLock { box.reports.append(report) }
    }
}

@available(*, unavailable)
extension BulkHandler: Sendable {}
