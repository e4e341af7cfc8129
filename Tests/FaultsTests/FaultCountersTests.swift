import Faults
import Testing

/// What counts as a fault acting, and the most each fault did to a connection.
@Suite struct FaultCountersTests {
    @Test func resetPeerDropsThenResetsOnce() {
        let resetPeer = fault(.resetPeer(timeout: .milliseconds(50)), .upstream, name: "rp")
        var driver = Driver([resetPeer], stream: .upstream)
        driver.receive(10, at: ms(1))
        driver.receive(5, at: ms(2))
        #expect(driver.pipeline.counters.effects == ["rp": FaultEffect(resetPeer, action: .dropped)])
        #expect(driver.pipeline.counters.effects["rp"]?.type == .resetPeer)
        #expect(driver.pipeline.counters.effects["rp"]?.stream == .upstream)
        driver.finish()
        #expect(driver.closes.map(\.0) == [.reset])
        #expect(driver.pipeline.counters.effects == ["rp": FaultEffect(resetPeer, action: .reset)])
        #expect(driver.pipeline.counters.resets == 1)
        #expect(driver.pipeline.counters.fired[.resetPeer] == 3, "two chunks swallowed, one reset")
    }

    @Test func aFaultThatDoesNotApplyLeavesNoMark() {
        var driver = Driver([fault(.resetPeer(timeout: .zero), toxicity: 0)])
        driver.receive(10, at: ms(1))
        driver.finish()
        #expect(driver.closes.isEmpty)
        #expect(driver.pipeline.counters == FaultCounters())
    }

    @Test func aLatencyOfNothingDoesNotAct() {
        var none = Driver([fault(.latency(latency: .zero))])
        none.receive(10, at: ms(1))
        none.finish()
        #expect(none.pipeline.counters.effects.isEmpty)
        #expect(none.pipeline.counters.totalFired == 0)
        var some = Driver([fault(.latency(latency: .milliseconds(1)), name: "slow")])
        some.receive(10, at: ms(1))
        some.finish()
        #expect(some.pipeline.counters.effects["slow"]?.action == .delayed)
    }

    @Test func aSlicerThatCutsNothingDoesNotAct() {
        var driver = Driver([fault(.slicer(averageSize: 100))])
        driver.receive(50, at: ms(1))
        driver.finish()
        #expect(driver.pipeline.counters.effects.isEmpty)
    }

    /// A close that a fault further down the chain swallowed closed nothing:
    /// limit_data's FIN never leaves, reset_peer's RST does.
    @Test func onlyTheCloseThatLeavesCounts() {
        var driver = Driver([
            fault(.limitData(bytes: 5), name: "limit"),
            fault(.resetPeer(timeout: .milliseconds(10)), name: "rp"),
        ])
        driver.receive(10, at: ms(1))
        driver.finish()
        #expect(driver.closes.map(\.0) == [.reset])
        #expect(driver.pipeline.counters.effects["limit"] == nil, "the peer saw nothing of the limit: the reset swallowed it all")
        #expect(driver.pipeline.counters.effects["rp"]?.action == .reset)
        #expect(driver.pipeline.counters.closes == 0)
    }

    @Test func limitDataActsOnceWhenItCloses() {
        var driver = Driver([fault(.limitData(bytes: 5), name: "limit")])
        driver.receive(3, at: ms(1))
        #expect(driver.pipeline.counters.effects.isEmpty)
        driver.receive(3, at: ms(2))
        #expect(driver.pipeline.counters.effects["limit"]?.action == .closed)
        #expect(driver.pipeline.counters.fired == [.limitData: 1])
    }

    @Test func sumsKeepTheMostEachFaultDid() {
        var swallowed = Driver([fault(.resetPeer(timeout: .seconds(1)), name: "rp")])
        swallowed.receive(10, at: ms(1))
        var reset = Driver([fault(.latency(latency: .milliseconds(1)), name: "late"), fault(.resetPeer(timeout: .zero), name: "rp")])
        reset.receive(10, at: ms(1))
        reset.finish()
        let sum = swallowed.pipeline.counters + reset.pipeline.counters
        #expect(sum.effects["rp"]?.action == .reset)
        #expect(sum.effects["late"]?.action == .delayed)
        #expect((reset.pipeline.counters + swallowed.pipeline.counters).effects == sum.effects)
        #expect(sum.fired[.resetPeer] == 3)
    }

    @Test func actionsAreOrderedFromLeastToMost() {
        #expect(FaultAction.allCases.sorted() == [.delayed, .throttled, .sliced, .dropped, .closed, .reset])
        #expect(FaultAction.delayed < .reset)
    }
}
