import Faults
import NIOCore
import NIOEmbedded
import Testing

/// Stands for the proxy's glue: claims a `FaultHandoff` and keeps its entries.
final class HandoffTaker: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    var entries: [FaultHandoff.Entry] = []
    var handoffs = 0
    let claims: Bool

    init(claims: Bool = true) {
        self.claims = claims
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handoff = event as? FaultHandoff {
            handoffs += 1
            if claims {
                entries += handoff.claim()
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The entries as (bytes, due in ms), `nil` bytes for an end of stream.
    var summary: [String] {
        entries.map { entry in
            let ms = Int64(entry.due.uptimeNanoseconds / 1_000_000)
            switch entry.event {
            case .data(let buffers): return "\(buffers.flatMap { Array(buffer: $0) })@\(ms)"
            case .endOfStream: return "end@\(ms)"
            case .close(let mode): return "close(\(mode))@\(ms)"
            }
        }
    }

    var bytes: [UInt8] {
        entries.flatMap { entry -> [UInt8] in
            if case .data(let buffers) = entry.event { return buffers.flatMap { Array(buffer: $0) } }
            return []
        }
    }
}

/// A source channel that goes inactive while its faults still delay bytes
/// (the peer wrote and closed; NIO closes the channel at once when our output
/// was already shut): the held bytes keep their schedule.
@Suite("FaultHandler hands held bytes over when its channel closes")
struct FaultHandoffTests {
    struct Harness {
        let channel = EmbeddedChannel()
        let handler: FaultHandler
        let taker: HandoffTaker
        let collector = Collector()

        init(_ faults: [Fault], claims: Bool = true) throws {
            handler = FaultHandler(FaultPlan(.downstream, seed: 3, connection: 1), faults: faults, onClose: { _ in })
            taker = HandoffTaker(claims: claims)
            try channel.pipeline.syncOperations.addHandlers([handler, taker, collector])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func write(_ bytes: [UInt8]) throws {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        }

        func advance(ms value: Int64) {
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(value))
        }

        func inputClosed() {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }

        func close() throws {
            try channel.close().wait()
        }
    }

    @Test func latencyKeepsItsDelayAfterTheSourceCloses() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))])
        try harness.write([1, 2])
        harness.advance(ms: 10)
        try harness.write([3])
        harness.advance(ms: 10)
        harness.inputClosed()
        harness.advance(ms: 10)
        try harness.close()
        // Nothing was released early; the handoff says when each part is due.
        #expect(harness.collector.events == [.inactive])
        #expect(harness.taker.handoffs == 1)
        #expect(harness.taker.summary == ["[1, 2]@100", "[3]@110", "end@110"])
        #expect(harness.handler.heldBytes == 0)
        // The handler's own timers are gone: nothing is delivered twice.
        harness.advance(ms: 1000)
        #expect(harness.collector.events == [.inactive])
    }

    @Test func partlyDeliveredBytesHandOverOnlyTheRest() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))])
        try harness.write([1])
        harness.advance(ms: 50)
        try harness.write([2])
        harness.advance(ms: 60)
        #expect(harness.collector.bytes == [1])
        try harness.close()
        #expect(harness.taker.summary == ["[2]@150"])
        #expect(harness.collector.bytes == [1])
    }

    @Test func bandwidthScheduleIsKeptByteExact() throws {
        // 1000 KB/s: slices of 100,000 bytes, each due 100 ms after the last.
        let harness = try Harness([fault(.bandwidth(rate: .kilobytesPerSecond(1000)))])
        let payload = (0..<250_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try harness.write(payload)
        harness.inputClosed()
        try harness.close()
        #expect(harness.collector.bytes.isEmpty)
        #expect(harness.taker.bytes == payload)
        let dues = harness.taker.entries.map { Int64($0.due.uptimeNanoseconds / 1_000_000) }
        #expect(dues == [100, 200, 250, 250])
        if case .endOfStream = harness.taker.entries.last?.event {} else {
            Issue.record("the end of stream comes last")
        }
    }

    @Test func slicerPiecesStaySeparateDeliveries() throws {
        let harness = try Harness([fault(.slicer(averageSize: 2, sizeVariation: 0, delay: .milliseconds(10)))])
        try harness.write([1, 2, 3, 4, 5, 6, 7, 8])
        try harness.close()
        // The first piece is due at once and leaves before the channel closes.
        #expect(harness.collector.bytes == [1, 2])
        #expect(harness.taker.summary == ["[3, 4]@10", "[5, 6]@20", "[7, 8]@30"])
    }

    @Test func slowCloseDelaysTheEndAfterTheSourceCloses() throws {
        let harness = try Harness([fault(.slowClose(delay: .milliseconds(300)))])
        try harness.write([9])
        harness.inputClosed()
        try harness.close()
        #expect(harness.collector.bytes == [9])
        #expect(harness.taker.summary == ["end@300"])
    }

    @Test func limitsStillApplyToHandedOverBytes() throws {
        let harness = try Harness([
            fault(.latency(latency: .milliseconds(100)), name: "slow"),
            fault(.limitData(bytes: 3), name: "limit"),
        ])
        try harness.write([1, 2, 3, 4, 5])
        try harness.close()
        #expect(harness.taker.summary == ["[1, 2, 3]@100", "close(fin)@100"])
        #expect(harness.handler.counters.bytesDiscarded == 2)
    }

    @Test func withNobodyToTakeThemHeldBytesAreReleasedAtOnce() throws {
        let harness = try Harness([fault(.latency(latency: .seconds(1)))], claims: false)
        try harness.write([1, 2])
        harness.inputClosed()
        try harness.close()
        #expect(harness.taker.handoffs == 1)
        #expect(harness.collector.events == [.bytes([1, 2], at: 0), .readComplete, .inputClosed(at: 0), .inactive])
    }

    @Test func nothingDelayedMeansNoHandoff() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))])
        try harness.write([1])
        harness.advance(ms: 100)
        try harness.close()
        #expect(harness.taker.handoffs == 0)
        #expect(harness.collector.events == [.bytes([1], at: 100), .readComplete, .inactive])
    }

    @Test func pipelineDrainOnScheduleKeepsEveryInstant() {
        var driver = Driver([
            fault(.latency(latency: .milliseconds(100)), name: "a"),
            fault(.latency(latency: .milliseconds(50)), name: "b"),
        ])
        driver.receive(10, at: ms(0))
        driver.receive(5, at: ms(20))
        driver.end(at: ms(30))
        let actions = driver.pipeline.drainOnSchedule(at: ms(40))
        #expect(actions == [
            .deliver(bytes: 10, at: ms(150)),
            .deliver(bytes: 5, at: ms(170)),
            .endOfStream(at: ms(170)),
        ])
        #expect(!driver.pipeline.isHolding)
        #expect(driver.pipeline.nextDeadline == nil)
    }
}
