import Faults
import Testing

@Suite("FaultPipeline: each fault's timing and bytes on a manual clock")
struct FaultPipelineTests {
    @Test func noFaultsDeliversAtOnce() {
        var driver = Driver([])
        #expect(driver.pipeline.isPassThrough)
        driver.receive(10, at: ms(5))
        driver.end(at: ms(6))
        #expect(driver.actions == [.deliver(bytes: 10, at: ms(5)), .endOfStream(at: ms(6))])
    }

    @Test func latencyDeliversExactlyAfterTheDelay() {
        var driver = Driver([fault(.latency(latency: .milliseconds(100)))])
        driver.receive(10, at: .zero)
        #expect(driver.pipeline.nextDeadline == ms(100))
        driver.advance(to: FaultInstant(nanoseconds: 99_999_999))
        #expect(driver.actions.isEmpty)
        #expect(driver.pipeline.heldBytes == 10)
        driver.advance(to: ms(100))
        #expect(driver.actions == [.deliver(bytes: 10, at: ms(100))])
        #expect(driver.pipeline.heldBytes == 0)
    }

    @Test func latencyDelaysDoNotPileUp() {
        var driver = Driver([fault(.latency(latency: .milliseconds(100)))])
        for index in 0..<1000 {
            driver.receive(1000, at: FaultInstant(nanoseconds: Int64(index) * 100_000))
        }
        driver.finish()
        #expect(driver.deliveries.count == 1000)
        for (index, delivery) in driver.deliveries.enumerated() {
            #expect(delivery.at == FaultInstant(nanoseconds: Int64(index) * 100_000) + .milliseconds(100))
        }
    }

    @Test func twoLatenciesAdd() {
        var driver = Driver([
            fault(.latency(latency: .milliseconds(500)), name: "a"),
            fault(.latency(latency: .milliseconds(500)), name: "b"),
        ])
        driver.receive(3, at: ms(1))
        driver.receive(4, at: ms(2))
        driver.finish()
        #expect(driver.actions == [.deliver(bytes: 3, at: ms(1001)), .deliver(bytes: 4, at: ms(1002))])
    }

    private func jitterRun(seed: UInt64) -> [FaultInstant] {
        var driver = Driver([fault(.latency(latency: .milliseconds(100), jitter: .milliseconds(10)))], seed: seed)
        for index in 0..<1000 {
            driver.receive(1, at: ms(Int64(index) * 50))
        }
        driver.finish()
        return driver.deliveries.map(\.at)
    }

    @Test func jitterStaysWithinBoundsAndRepeatsWithASeed() {
        let first = jitterRun(seed: 42)
        #expect(first.count == 1000)
        for (index, at) in first.enumerated() {
            let delay = at - ms(Int64(index) * 50)
            #expect(delay >= .milliseconds(90) && delay < .milliseconds(110))
        }
        #expect(Set(first.map { ($0 - .zero).components.attoseconds }).count > 100, "delays vary")
        #expect(jitterRun(seed: 42) == first)
        #expect(jitterRun(seed: 43) != first)
    }

    @Test func jitterNeverReorders() {
        var driver = Driver([fault(.latency(latency: .milliseconds(10), jitter: .milliseconds(10)))])
        for index in 0..<2000 {
            driver.receive(1, at: FaultInstant(nanoseconds: Int64(index) * 10_000))
        }
        driver.finish()
        let times = driver.deliveries.map(\.at)
        #expect(times == times.sorted())
        #expect(driver.deliveredBytes == 2000)
    }

    @Test func bandwidthIsExactOverTime() {
        var driver = Driver([fault(.bandwidth(rate: .kilobytesPerSecond(1000)))])
        for _ in 0..<(480_000 / 16_000) {
            driver.receive(16_000, at: .zero)
        }
        driver.finish()
        #expect(driver.deliveredBytes == 480_000)
        #expect(driver.deliveries.last?.at == ms(480))
        #expect(driver.deliveries.first?.at == ms(16))
    }

    @Test func bandwidthCutsLargeChunksInto100msSlices() {
        var driver = Driver([fault(.bandwidth(rate: .kilobytesPerSecond(1000)))])
        driver.receive(480_000, at: ms(10))
        driver.finish()
        #expect(
            driver.actions == [
                .deliver(bytes: 100_000, at: ms(110)), .deliver(bytes: 100_000, at: ms(210)),
                .deliver(bytes: 100_000, at: ms(310)), .deliver(bytes: 100_000, at: ms(410)),
                .deliver(bytes: 80_000, at: ms(490)),
            ])
    }

    @Test func bandwidthDoesNotBankIdleTime() {
        var driver = Driver([fault(.bandwidth(rate: .kilobytesPerSecond(1)))])
        driver.receive(10, at: .zero)
        driver.receive(10, at: ms(1000))
        driver.finish()
        #expect(driver.actions == [.deliver(bytes: 10, at: ms(10)), .deliver(bytes: 10, at: ms(1010))])
    }

    @Test func bandwidthRoundsUpFractionalNanoseconds() {
        var driver = Driver([fault(.bandwidth(rate: BytesPerSecond(3)))])
        driver.receive(1, at: .zero)
        driver.receive(1, at: .zero)
        driver.receive(1, at: .zero)
        driver.finish()
        #expect(driver.deliveries.map(\.at) == [
            FaultInstant(nanoseconds: 333_333_334), FaultInstant(nanoseconds: 666_666_667), ms(1000),
        ])
    }

    @Test(arguments: [480_000, 65_536, 16_384, 1_000])
    func slicerCutsIntoAveragePieces(chunkSize: Int) {
        var driver = Driver([fault(.slicer(averageSize: 1024, sizeVariation: 512))])
        var sent = 0
        while sent < 480_000 {
            let size = min(chunkSize, 480_000 - sent)
            driver.receive(size, at: .zero)
            sent += size
        }
        driver.finish()
        #expect(driver.deliveredBytes == 480_000)
        #expect((240...720).contains(driver.deliveries.count), "\(driver.deliveries.count) pieces")
        #expect(driver.deliveries.allSatisfy { $0.bytes >= 1 && $0.bytes <= 1536 })
    }

    @Test func slicerAverageOneCutsEveryByte() {
        var driver = Driver([fault(.slicer(averageSize: 1, sizeVariation: 0))])
        driver.receive(24, at: .zero)
        #expect(driver.actions == Array(repeating: .deliver(bytes: 1, at: .zero), count: 24))
    }

    @Test func slicerSpacesPiecesByItsDelayAndHoldsTheNextChunk() {
        var driver = Driver([fault(.slicer(averageSize: 10, sizeVariation: 0, delay: .microseconds(100)))])
        driver.receive(40, at: .zero)
        driver.receive(10, at: .zero)
        driver.end(at: .zero)
        driver.finish()
        let us = { (value: Int64) in FaultInstant(nanoseconds: value * 1000) }
        #expect(
            driver.actions == [
                .deliver(bytes: 10, at: us(0)), .deliver(bytes: 10, at: us(100)), .deliver(bytes: 10, at: us(200)),
                .deliver(bytes: 10, at: us(300)), .deliver(bytes: 10, at: us(400)), .endOfStream(at: us(500)),
            ])
    }

    @Test func slicerVariationLargerThanHalfAPieceStaysInBounds() {
        var driver = Driver([fault(.slicer(averageSize: 1, sizeVariation: 1000))])
        driver.receive(5000, at: .zero)
        #expect(driver.deliveredBytes == 5000)
        #expect(driver.deliveries.allSatisfy { $0.bytes >= 1 })
    }

    @Test func limitDataUnderTheLimitPasses() {
        var driver = Driver([fault(.limitData(bytes: 100))])
        driver.receive(50, at: .zero)
        #expect(driver.actions == [.deliver(bytes: 50, at: .zero)])
    }

    @Test func limitDataTruncatesAndCloses() {
        var driver = Driver([fault(.limitData(bytes: 100))])
        driver.receive(150, at: ms(3))
        driver.receive(7, at: ms(4))
        #expect(
            driver.actions == [
                .deliver(bytes: 100, at: ms(3)), .discard(bytes: 50), .close(.fin, at: ms(3)), .discard(bytes: 7),
            ])
        #expect(driver.pipeline.counters.fired[.limitData] == 1)
        #expect(driver.pipeline.counters.bytesDiscarded == 57)
    }

    @Test func limitDataAcrossChunks() {
        var driver = Driver([fault(.limitData(bytes: 100))])
        driver.receive(90, at: .zero)
        driver.receive(20, at: ms(1))
        #expect(
            driver.actions == [
                .deliver(bytes: 90, at: .zero), .deliver(bytes: 10, at: ms(1)), .discard(bytes: 10),
                .close(.fin, at: ms(1)),
            ])
    }

    @Test func limitDataZeroPassesNothing() {
        var driver = Driver([fault(.limitData(bytes: 0))])
        #expect(driver.pipeline.nextDeadline == nil)
        driver.receive(5, at: ms(1))
        #expect(driver.actions == [.discard(bytes: 5), .close(.fin, at: ms(1))])
    }

    @Test func limitDataCounterSurvivesAChange() {
        var driver = Driver([fault(.limitData(bytes: 100), name: "limit")])
        driver.receive(90, at: .zero)
        driver.update([fault(.limitData(bytes: 120), name: "limit")], at: ms(1))
        driver.receive(50, at: ms(2))
        #expect(driver.deliveredBytes == 120)
        #expect(driver.closes.map(\.1) == [ms(2)])
    }

    @Test func limitDataAfterLatencyClosesAfterTheDelayedBytes() {
        var driver = Driver([
            fault(.latency(latency: .milliseconds(100))), fault(.limitData(bytes: 100)),
        ])
        driver.receive(150, at: .zero)
        driver.receive(10, at: ms(50))
        driver.finish()
        #expect(
            driver.actions == [
                .deliver(bytes: 100, at: ms(100)), .discard(bytes: 50), .close(.fin, at: ms(100)), .discard(bytes: 10),
            ])
        #expect(driver.pipeline.heldBytes == 0)
    }

    @Test func timeoutZeroDiscardsAndNeverCloses() {
        var driver = Driver([fault(.timeout(timeout: .zero))])
        driver.receive(10, at: ms(1))
        driver.receive(10, at: ms(2))
        driver.finish()
        #expect(driver.actions == [.discard(bytes: 10), .discard(bytes: 10)])
        #expect(driver.pipeline.nextDeadline == nil)
    }

    @Test func timeoutClosesAfterItsTimeout() {
        var driver = Driver([fault(.timeout(timeout: .milliseconds(100)))])
        #expect(driver.pipeline.nextDeadline == ms(100))
        driver.finish()
        #expect(driver.actions == [.close(.fin, at: ms(100))])
    }

    @Test func timeoutRestartsOnEachDiscardedChunkAsToxiproxy() {
        var driver = Driver([fault(.timeout(timeout: .milliseconds(100)))])
        driver.receive(10, at: ms(50))
        driver.finish()
        #expect(driver.actions == [.discard(bytes: 10), .close(.fin, at: ms(150))])
    }

    @Test func removingATimeoutClosesTheConnection() {
        let timeout = fault(.timeout(timeout: .zero))
        var driver = Driver([timeout])
        driver.receive(10, at: ms(1))
        driver.update([], at: ms(500))
        #expect(driver.actions == [.discard(bytes: 10), .close(.fin, at: ms(500))])
    }

    @Test func removingANonApplyingTimeoutDoesNotClose() {
        var driver = Driver([fault(.timeout(timeout: .zero), toxicity: 0)])
        driver.receive(10, at: ms(1))
        driver.update([], at: ms(2))
        #expect(driver.actions == [.deliver(bytes: 10, at: ms(1))])
    }

    @Test func resetPeerWaitsForTheFirstChunk() {
        var driver = Driver([fault(.resetPeer(timeout: .milliseconds(50)))])
        driver.advance(to: ms(1000))
        #expect(driver.actions.isEmpty)
        driver.receive(10, at: ms(1000))
        driver.receive(5, at: ms(1020))
        driver.finish()
        #expect(driver.actions == [.discard(bytes: 10), .discard(bytes: 5), .close(.reset, at: ms(1050))])
        #expect(driver.pipeline.counters.resets == 1)
    }

    @Test func resetPeerAlsoFiresOnEndOfStream() {
        var driver = Driver([fault(.resetPeer(timeout: .zero))])
        driver.end(at: ms(3))
        #expect(driver.actions == [.close(.reset, at: ms(3))])
    }

    @Test func slowCloseDelaysOnlyTheEnd() {
        var driver = Driver([fault(.slowClose(delay: .milliseconds(200)))])
        driver.receive(10, at: ms(1))
        driver.end(at: ms(2))
        driver.finish()
        #expect(driver.actions == [.deliver(bytes: 10, at: ms(1)), .endOfStream(at: ms(202))])
    }

    @Test func endOfStreamWaitsBehindHeldData() {
        var driver = Driver([fault(.latency(latency: .milliseconds(100)))])
        driver.receive(10, at: .zero)
        driver.end(at: ms(10))
        driver.finish()
        #expect(driver.actions == [.deliver(bytes: 10, at: ms(100)), .endOfStream(at: ms(100))])
    }

    private func dropRun(seed: UInt64) -> [Bool] {
        var driver = Driver([fault(.drop(probability: 0.5))], seed: seed)
        for index in 0..<1000 {
            driver.receive(1, at: ms(Int64(index)))
        }
        return driver.actions.map { if case .discard = $0 { true } else { false } }
    }

    @Test func dropWithASeedDropsTheSameChunks() {
        let first = dropRun(seed: 9)
        #expect(first.count == 1000)
        #expect((400...600).contains(first.filter { $0 }.count))
        #expect(dropRun(seed: 9) == first)
        #expect(dropRun(seed: 10) != first)
    }

    @Test func dropZeroAndOne() {
        var keep = Driver([fault(.drop(probability: 0))])
        var lose = Driver([fault(.drop(probability: 1))])
        for index in 0..<100 {
            keep.receive(1, at: ms(Int64(index)))
            lose.receive(1, at: ms(Int64(index)))
        }
        #expect(keep.deliveredBytes == 100)
        #expect(lose.discardedBytes == 100)
    }

    @Test func toxicityIsDecidedPerConnectionAndRepeats() {
        let faults = [fault(.latency(latency: .milliseconds(1)), toxicity: 0.3)]
        let decisions = (0..<2000).map { connection in
            FaultPipeline(FaultPlan(.downstream, seed: 5, connection: UInt64(connection)), faults: faults, at: .zero).applies[0]
        }
        let again = (0..<2000).map { connection in
            FaultPipeline(FaultPlan(.downstream, seed: 5, connection: UInt64(connection)), faults: faults, at: .zero).applies[0]
        }
        #expect(decisions == again)
        #expect((500...700).contains(decisions.filter { $0 }.count))
        let none = FaultPipeline(FaultPlan(.downstream, seed: 5, connection: 1), faults: [fault(.noop, toxicity: 0)], at: .zero)
        #expect(none.applies == [false])
    }

    @Test func toxicityZeroLeavesTheConnectionAlone() {
        var driver = Driver([fault(.resetPeer(timeout: .zero), toxicity: 0)])
        #expect(driver.pipeline.isPassThrough)
        driver.receive(10, at: .zero)
        #expect(driver.actions == [.deliver(bytes: 10, at: .zero)])
    }

    @Test func faultsOfTheOtherStreamAreIgnored() {
        var driver = Driver([fault(.latency(latency: .seconds(1)), .upstream)], stream: .downstream)
        driver.receive(10, at: .zero)
        #expect(driver.actions == [.deliver(bytes: 10, at: .zero)])
        #expect(driver.pipeline.faults.isEmpty)
    }

    @Test func removingLatencyReleasesHeldChunksAtOnceInOrder() {
        let latency = fault(.latency(latency: .seconds(1)))
        var driver = Driver([latency])
        driver.receive(1, at: ms(0))
        driver.receive(2, at: ms(100))
        driver.update([], at: ms(200))
        driver.receive(3, at: ms(300))
        #expect(
            driver.actions == [
                .deliver(bytes: 1, at: ms(200)), .deliver(bytes: 2, at: ms(200)), .deliver(bytes: 3, at: ms(300)),
            ])
    }

    @Test func removedFaultReleasesIntoTheFaultsAfterIt() {
        var driver = Driver([
            fault(.latency(latency: .seconds(1))), fault(.latency(latency: .milliseconds(100)), name: "second"),
        ])
        driver.receive(1, at: .zero)
        driver.update([fault(.latency(latency: .milliseconds(100)), name: "second")], at: ms(10))
        driver.finish()
        // Released at 10 ms into the second fault, which delays it until 0 + 1 s + 100 ms.
        #expect(driver.actions == [.deliver(bytes: 1, at: ms(1100))])
    }

    @Test func addedLatencyAppliesToLaterChunksWithoutReordering() {
        var driver = Driver([])
        driver.receive(1, at: .zero)
        driver.update([fault(.latency(latency: .milliseconds(100)))], at: ms(1))
        driver.receive(2, at: ms(2))
        driver.update([], at: ms(3))
        driver.receive(3, at: ms(4))
        #expect(
            driver.actions == [
                .deliver(bytes: 1, at: .zero), .deliver(bytes: 2, at: ms(3)), .deliver(bytes: 3, at: ms(4)),
            ])
    }

    @Test func changingAFaultReleasesItsChunkAndAppliesTheNewValues() {
        var driver = Driver([fault(.latency(latency: .seconds(1)))])
        driver.receive(1, at: .zero)
        driver.update([fault(.latency(latency: .milliseconds(10)))], at: ms(100))
        driver.receive(2, at: ms(200))
        driver.finish()
        #expect(driver.actions == [.deliver(bytes: 1, at: ms(100)), .deliver(bytes: 2, at: ms(210))])
    }

    @Test func heldBytesAboveTheLimitHoldReads() {
        var driver = Driver([fault(.latency(latency: .milliseconds(100)))], heldByteLimit: 1000)
        driver.receive(600, at: .zero)
        #expect(!driver.pipeline.shouldHoldReads)
        driver.receive(600, at: ms(1))
        #expect(driver.pipeline.shouldHoldReads)
        driver.advance(to: ms(100))
        #expect(!driver.pipeline.shouldHoldReads)
    }

    @Test func countersCountWhatFired() {
        var driver = Driver([
            fault(.latency(latency: .milliseconds(1))), fault(.drop(probability: 1)),
        ])
        driver.receive(10, at: .zero)
        driver.receive(10, at: .zero)
        driver.finish()
        #expect(driver.pipeline.counters.fired == [.latency: 2, .drop: 2])
        #expect(driver.pipeline.counters.bytesDiscarded == 20)
        #expect(driver.pipeline.counters.totalFired == 4)
    }

    @Test func drainReleasesHeldBytesNowKeepingLimits() {
        var driver = Driver([fault(.latency(latency: .seconds(10))), fault(.limitData(bytes: 15))])
        driver.receive(10, at: .zero)
        driver.receive(10, at: ms(1))
        driver.end(at: ms(2))
        let actions = driver.pipeline.drain(at: ms(3))
        #expect(
            actions == [
                .deliver(bytes: 10, at: ms(3)), .deliver(bytes: 5, at: ms(3)), .discard(bytes: 5), .close(.fin, at: ms(3)),
            ])
        #expect(driver.pipeline.heldBytes == 0)
    }
}
