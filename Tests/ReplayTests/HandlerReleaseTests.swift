import NIOCore
import NIOEmbedded
import Recording
@testable import Replay
import Testing

/// A closed connection lets go of its handler, and with it the session it
/// played: what keeps a replay's memory to the sessions playing now.
@Suite struct HandlerReleaseTests {
    @Test func aClosedServeConnectionFreesItsHandler() throws {
        weak var released: ServeHandler?
        try {
            let (harness, _) = try ReplayHandlerTests.serving([ReplayHandlerTests.echoed], speed: 0)
            released = try harness.channel.pipeline.syncOperations.handler(type: ServeHandler.self)
            try harness.send("m0", at: 1)
            harness.end(at: 2)
            #expect(!harness.channel.isActive)
            // The pipeline is taken down on the loop's next turn.
            harness.channel.embeddedEventLoop.run()
        }()
        #expect(released == nil)
    }

    @Test func aClosedDriveConnectionFreesItsHandler() throws {
        weak var released: DriveHandler?
        try {
            let (harness, done) = try ReplayHandlerTests.driving(ReplayHandlerTests.echoed, anchor: 0)
            released = try harness.channel.pipeline.syncOperations.handler(type: DriveHandler.self)
            harness.at(1)
            try harness.channel.close().wait()
            _ = try done.wait()
            harness.channel.embeddedEventLoop.run()
        }()
        #expect(released == nil)
    }
}
