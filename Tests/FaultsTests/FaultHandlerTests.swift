import Faults
import NIOCore
import NIOEmbedded
import Testing

/// Records what leaves the fault handler, with the manual clock's time.
final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum Event: Equatable {
        case bytes([UInt8], at: Int64)
        case readComplete
        case inputClosed(at: Int64)
        case inactive
    }

    var events: [Event] = []
    var keepsBytes = true
    var byteCount = 0

    var bytes: [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case .bytes(let bytes, _) = event { return bytes }
            return []
        }
    }

    private func ms(_ context: ChannelHandlerContext) -> Int64 {
        Int64(context.eventLoop.now.uptimeNanoseconds / 1_000_000)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        byteCount += buffer.readableBytes
        if keepsBytes {
            events.append(.bytes(Array(buffer: buffer), at: ms(context)))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if keepsBytes {
            events.append(.readComplete)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            events.append(.inputClosed(at: ms(context)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        events.append(.inactive)
    }
}

/// Counts the `read()`s that get past the fault handler towards the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

@Suite("FaultHandler on EmbeddedChannel")
struct FaultHandlerTests {
    struct Harness {
        let channel = EmbeddedChannel()
        let handler: FaultHandler
        let collector = Collector()
        let readCounter = ReadCounter()
        var closes: [FaultCloseMode] { closeLog.modes }
        let closeLog = CloseLog()

        final class CloseLog {
            var modes: [FaultCloseMode] = []
        }

        init(_ faults: [Fault], heldByteLimit: Int = FaultPipeline.defaultHeldByteLimit, seed: UInt64 = 1) throws {
            let log = closeLog
            var plan = FaultPlan(.downstream, seed: seed, connection: 1)
            plan.heldByteLimit = heldByteLimit
            handler = FaultHandler(plan, faults: faults, onClose: { log.modes.append($0) })
            try channel.pipeline.syncOperations.addHandlers([readCounter, handler, collector])
        }

        func write(_ bytes: [UInt8]) throws {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        }

        func advance(ms value: Int64) {
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(value))
        }
    }

    @Test func noFaultsPassesStraightThrough() throws {
        let harness = try Harness([])
        try harness.write([1, 2, 3])
        #expect(harness.collector.events == [.bytes([1, 2, 3], at: 0), .readComplete])
    }

    @Test func latencyDeliversBytesExactlyAndInOrder() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))])
        try harness.write([1, 2])
        harness.advance(ms: 10)
        try harness.write([3])
        harness.advance(ms: 89)
        #expect(harness.collector.events.isEmpty)
        harness.advance(ms: 1)
        #expect(harness.collector.events == [.bytes([1, 2], at: 100), .readComplete])
        harness.advance(ms: 10)
        #expect(harness.collector.bytes == [1, 2, 3])
        #expect(harness.handler.heldBytes == 0)
    }

    @Test func slicerPiecesAreSeparateReadsEachFlushed() throws {
        let harness = try Harness([fault(.slicer(averageSize: 2, sizeVariation: 0))])
        try harness.write([1, 2, 3, 4])
        #expect(harness.collector.events == [.bytes([1, 2], at: 0), .readComplete, .bytes([3, 4], at: 0), .readComplete])
    }

    @Test func readIsHeldAboveTheBoundAndResumed() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))], heldByteLimit: 1000)
        try harness.write(Array(repeating: 7, count: 600))
        harness.channel.read()
        #expect(harness.readCounter.reads == 1)
        harness.advance(ms: 1)
        try harness.write(Array(repeating: 8, count: 600))
        harness.channel.read()
        #expect(harness.readCounter.reads == 1, "held: 1200 bytes ≥ 1000")
        harness.advance(ms: 98)
        #expect(harness.readCounter.reads == 1)
        harness.advance(ms: 1)
        #expect(harness.collector.bytes.count == 600)
        #expect(harness.readCounter.reads == 2, "600 held, under the bound: the held read goes ahead")
        harness.channel.read()
        #expect(harness.readCounter.reads == 3)
    }

    @Test func readResumesOnceBelowTheBound() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))], heldByteLimit: 1000)
        try harness.write(Array(repeating: 7, count: 1500))
        harness.channel.read()
        #expect(harness.readCounter.reads == 0)
        harness.advance(ms: 100)
        #expect(harness.readCounter.reads == 1, "the held read goes ahead")
    }

    @Test func memoryStaysBoundedAndThroughputHighUnderAFastSender() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))])
        harness.collector.keepsBytes = false
        let chunk = harness.channel.allocator.buffer(repeating: 1, count: 64 * 1024)
        var maximumHeld = 0
        var sent = 0
        // A sender faster than 256 MB/s: each read() reaching the socket
        // yields a 64 KiB chunk, up to four per millisecond.
        for _ in 0..<1000 {
            for _ in 0..<4 {
                let before = harness.readCounter.reads
                harness.channel.read()
                guard harness.readCounter.reads > before else { break }
                try harness.channel.writeInbound(chunk)
                sent += chunk.readableBytes
                maximumHeld = max(maximumHeld, harness.handler.heldBytes)
            }
            harness.advance(ms: 1)
        }
        #expect(maximumHeld <= FaultPipeline.defaultHeldByteLimit + chunk.readableBytes)
        #expect(sent >= 100_000_000, "\(sent) bytes in 1 s through a 100 ms latency")
        harness.advance(ms: 100)
        #expect(harness.collector.byteCount == sent)
        #expect(harness.handler.heldBytes == 0)
    }

    @Test func heldBytesBoundCapsThroughputAtBoundOverDelay() throws {
        let limit = 256 * 1024
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))], heldByteLimit: limit)
        let chunk = harness.channel.allocator.buffer(repeating: 1, count: 64 * 1024)
        var maximumHeld = 0
        var sent = 0
        for _ in 0..<1000 {
            let before = harness.readCounter.reads
            harness.channel.read()
            if harness.readCounter.reads > before {
                try harness.channel.writeInbound(chunk)
                sent += chunk.readableBytes
            }
            maximumHeld = max(maximumHeld, harness.handler.heldBytes)
            harness.advance(ms: 1)
        }
        #expect(maximumHeld < limit + chunk.readableBytes)
        // About 2.6 MB/s: 256 KiB per 100 ms.
        #expect((2_000_000...3_500_000).contains(sent), "\(sent)")
    }

    @Test func inputClosedWaitsBehindHeldData() throws {
        let harness = try Harness([fault(.latency(latency: .milliseconds(100)))])
        try harness.write([1])
        harness.advance(ms: 10)
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        harness.advance(ms: 50)
        #expect(harness.collector.events.isEmpty)
        harness.advance(ms: 40)
        #expect(harness.collector.events == [.bytes([1], at: 100), .readComplete, .inputClosed(at: 100)])
    }

    @Test func slowCloseDelaysInputClosed() throws {
        let harness = try Harness([fault(.slowClose(delay: .milliseconds(300)))])
        try harness.write([1])
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.collector.bytes == [1])
        harness.advance(ms: 299)
        #expect(!harness.collector.events.contains(.inputClosed(at: 300)))
        harness.advance(ms: 1)
        #expect(harness.collector.events.last == .inputClosed(at: 300))
    }

    @Test func removingTheFaultMidStreamLosesAndReordersNothing() throws {
        let latency = fault(.latency(latency: .seconds(1)))
        let harness = try Harness([latency])
        try harness.write([1])
        harness.advance(ms: 100)
        try harness.write([2, 3])
        harness.advance(ms: 100)
        harness.handler.update(faults: [])
        #expect(harness.collector.bytes == [1, 2, 3])
        try harness.write([4])
        harness.handler.update(faults: [latency])
        try harness.write([5])
        harness.handler.update(faults: [])
        try harness.write([6])
        #expect(harness.collector.bytes == [1, 2, 3, 4, 5, 6])
        harness.advance(ms: 2000)
        #expect(harness.collector.bytes == [1, 2, 3, 4, 5, 6])
    }

    @Test func sequencedValuesSurviveATightAddRemoveLoop() throws {
        let latency = fault(.latency(latency: .milliseconds(5), jitter: .milliseconds(3)))
        let harness = try Harness([], seed: 99)
        for value in 0..<65_535 {
            var buffer = harness.channel.allocator.buffer(capacity: 2)
            buffer.writeInteger(UInt16(value))
            try harness.channel.writeInbound(buffer)
            harness.handler.update(faults: value.isMultiple(of: 2) ? [latency] : [])
            if value.isMultiple(of: 7) {
                harness.advance(ms: 1)
            }
        }
        harness.handler.update(faults: [])
        let bytes = harness.collector.bytes
        #expect(bytes.count == 65_535 * 2)
        var values: [UInt16] = []
        values.reserveCapacity(65_535)
        for index in stride(from: 0, to: bytes.count, by: 2) {
            values.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
        }
        #expect(values == (0..<65_535).map { UInt16($0) })
    }

    @Test func sequencedValuesSurviveLatencyAddedAndRemovedWhileHeld() throws {
        let latency = fault(.latency(latency: .milliseconds(50), jitter: .milliseconds(40)))
        let harness = try Harness([latency])
        var expected: [UInt8] = []
        for value in 0..<20_000 {
            let byte = UInt8(truncatingIfNeeded: value)
            expected.append(byte)
            try harness.write([byte])
            if value % 100 == 0 {
                harness.handler.update(faults: value % 200 == 0 ? [] : [latency])
            }
            if value % 3 == 0 {
                harness.advance(ms: 1)
            }
        }
        harness.advance(ms: 200)
        harness.handler.update(faults: [])
        #expect(harness.collector.bytes == expected)
    }

    @Test func limitDataRequestsACloseAfterTheLimit() throws {
        let harness = try Harness([fault(.limitData(bytes: 100))])
        try harness.write(Array(repeating: 1, count: 150))
        #expect(harness.collector.bytes.count == 100)
        #expect(harness.closes == [.fin])
        try harness.write([2, 2])
        #expect(harness.collector.bytes.count == 100)
        #expect(harness.closes == [.fin])
        #expect(harness.handler.counters.bytesDiscarded == 52)
    }

    @Test func timeoutRequestsACloseAfterItsTimeoutAndOnRemoval() throws {
        let harness = try Harness([fault(.timeout(timeout: .milliseconds(100)))])
        try harness.write([1])
        harness.advance(ms: 99)
        #expect(harness.closes.isEmpty)
        harness.advance(ms: 1)
        #expect(harness.closes == [.fin])
        #expect(harness.collector.bytes.isEmpty)

        let forever = try Harness([fault(.timeout(timeout: .zero))])
        try forever.write([1])
        forever.advance(ms: 10_000)
        #expect(forever.closes.isEmpty)
        forever.handler.update(faults: [])
        #expect(forever.closes == [.fin])
    }

    @Test func resetPeerRequestsAReset() throws {
        let harness = try Harness([fault(.resetPeer(timeout: .milliseconds(20)))])
        try harness.write([1])
        harness.advance(ms: 20)
        #expect(harness.closes == [.reset])
        #expect(harness.collector.bytes.isEmpty)
    }

    @Test func withoutACloseHandlerTheChannelClosesItself() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            FaultHandler(FaultPlan(.downstream, seed: 1, connection: 1), faults: [fault(.timeout(timeout: .milliseconds(100)))]))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!channel.isActive)
    }

    @Test func heldBytesAreReleasedBeforeTheChannelGoesInactive() throws {
        let harness = try Harness([fault(.latency(latency: .seconds(1)))])
        try harness.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try harness.write([1, 2])
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        _ = try harness.channel.finish()
        #expect(harness.collector.events == [.bytes([1, 2], at: 0), .readComplete, .inputClosed(at: 0), .inactive])
    }

    @Test func countersAreReportedAsTheyChange() throws {
        final class Box { var last = FaultCounters(); var calls = 0 }
        let box = Box()
        let channel = EmbeddedChannel()
        let handler = FaultHandler(
            FaultPlan(.upstream, seed: 1, connection: 1), faults: [fault(.drop(probability: 1), .upstream)],
            onCounters: { box.last = $0; box.calls += 1 })
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.writeInbound(channel.allocator.buffer(bytes: [1, 2, 3]))
        try channel.writeInbound(channel.allocator.buffer(bytes: [4]))
        #expect(box.calls == 2)
        #expect(box.last.fired[.drop] == 2)
        #expect(box.last.bytesDiscarded == 4)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test func channelUpdateFaultsReachesTheHandler() throws {
        let harness = try Harness([fault(.latency(latency: .seconds(10)))])
        try harness.write([1])
        let future = harness.channel.updateFaults([])
        harness.channel.embeddedEventLoop.run()
        try future.wait()
        #expect(harness.collector.bytes == [1])
    }

    @Test func sameSeedSameDropsOnTheChannel() throws {
        func run() throws -> [UInt8] {
            let harness = try Harness([fault(.drop(probability: 0.5))], seed: 1234)
            for value in 0..<200 {
                try harness.write([UInt8(value)])
            }
            return harness.collector.bytes
        }
        let first = try run()
        #expect(first.count > 50 && first.count < 150)
        #expect(try run() == first)
    }
}
