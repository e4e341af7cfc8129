@testable import Proxy
import Testing

/// What the capture tap records when a channel closes, from what NIO told
/// it and what Tapedeck asked for.
@Suite struct PeerEndTests {
    @Test func aResetOfOursIsRecordedAsOurs() {
        var end = PeerEnd()
        end.resetRequested()
        end.closeRequested()
        #expect(end.channelInactive() == .resetByUs)
    }

    @Test func aResetOfOursAfterThePeersFinIsStillRecorded() {
        var end = PeerEnd()
        end.inputClosed()
        end.resetRequested()
        #expect(end.channelInactive() == .resetByUs, "the peer half-closed, then got our RST")
    }

    @Test func aResetOfOursAfterOurOwnFinIsStillRecorded() {
        var end = PeerEnd()
        end.outputClosed()
        end.resetRequested()
        #expect(end.channelInactive() == .resetByUs)
    }

    @Test func afterThePeersOwnResetNothingMoreIsRecorded() {
        var end = PeerEnd()
        let first = end.errorCaught()
        #expect(first)
        end.resetRequested()
        #expect(end.channelInactive() == .reported)
    }

    @Test func aPlainCloseOfOursIsNotAReset() {
        var end = PeerEnd()
        end.closeRequested()
        #expect(end.channelInactive() == .closedByUs)
    }

    @Test func unreportedEndsAreTold() {
        var halfClosed = PeerEnd()
        halfClosed.outputClosed()
        #expect(halfClosed.channelInactive() == .halfClose)
        var died = PeerEnd()
        #expect(died.channelInactive() == .reset)
        var finished = PeerEnd()
        finished.inputClosed()
        #expect(finished.channelInactive() == .reported)
    }

    @Test func theCloseIsConcludedOnce() {
        var end = PeerEnd()
        end.resetRequested()
        #expect(end.channelInactive() == .resetByUs)
        #expect(end.channelInactive() == .reported)
    }
}
