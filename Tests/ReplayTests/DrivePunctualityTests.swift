import Foundation
import Logging
import NIOCore
import NIOPosix
import PcapFile
import Recording
import Replay
import Testing

/// `replay drive` sends every session's first message on its scheduled
/// instant, as the server sees it: the connection is opened ahead of it,
/// so neither the connect nor the pipeline's setup pushes it late.
@Suite struct DrivePunctualityTests {
    static let logger = Logger(label: "test")

    /// How late a first message may reach the server: the driver's timer
    /// and the server's wake-up on a 2-core CI machine, in a debug build,
    /// with other work running. With three compilers running beside it
    /// (load average 10) first messages arrived up to 20 ms late here. The
    /// precision itself is scripts/bench-replay's to measure, on the wire
    /// (6–83 µs late with --realtime).
    static let tolerance = TimeAmount.milliseconds(50)

    /// Four sessions opened 30 ms apart and played at once; their first
    /// messages come 0, 0.2, 20 and 50 ms after their sessions open — the
    /// first two sooner than a connection can be opened.
    static let scripts = [(0, 0.0), (1, 0.2), (2, 20.0), (3, 50.0)].map { index, first in
        var script = Script.session(index, [
            .client("s\(index)a;", ms: first),
            .client("s\(index)b;", ms: first + 10),
            .clientFIN(ms: first + 20),
        ])
        script.session.opened = Timestamp(seconds: 1_000, nanoseconds: Int64(index) * 30_000_000)
        return script
    }

    @Test func everySessionsFirstSendArrivesOnItsInstant() async throws {
        let server = try await ArrivalServer.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let start = NIODeadline.now() + .milliseconds(100)
        let driver = ReplayDriver(scripts: Self.scripts, configuration: DriveConfiguration(target: server.endpoint), group: group, logger: Self.logger)
        try await driver.prepare()
        let report = await driver.run(startingAt: start)
        try? await Task.sleep(for: .milliseconds(20))
        let arrivals = server.arrivals
        let accepted = server.accepted
        await server.stop()
        try? await group.shutdownGracefully()

        #expect(report.connectFailures == 0)
        #expect(report.bytesSent == 4 * 8)
        #expect(report.timing.samples == 8)
        for script in Self.scripts {
            let index = script.session.index
            let due = start + .milliseconds(Int64(index) * 30) + .nanoseconds(script.steps[0].offset)
            let opened = try #require(accepted.first { $0.connection == index })
            let arrival = try #require(arrivals.first { $0.text.hasPrefix("s\(index)a;") })
            let late = arrival.at - due
            #expect(opened.at <= arrival.at)
            #expect(late >= .zero, "session \(index)'s first message arrived \(-late.nanoseconds / 1000) µs early")
            #expect(late < Self.tolerance, "session \(index)'s first message arrived \(late.nanoseconds / 1000) µs late")
        }
        // The report counts from the writes' completions, within the tolerance too.
        #expect(report.timing.maxMicroseconds < Double(Self.tolerance.nanoseconds / 1000))
    }

    @Test func aSessionThatCannotStartOnTimeStartsItsClockWhenItStarts() async throws {
        let server = try await ArrivalServer.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let driver = ReplayDriver(scripts: [Self.scripts[2]], configuration: DriveConfiguration(target: server.endpoint), group: group, logger: Self.logger)
        try await driver.prepare()
        // A start that passed a second ago: the session is not a second late, it is re-anchored.
        let report = await driver.run(startingAt: .now() - .seconds(1))
        try? await Task.sleep(for: .milliseconds(20))
        let arrivals = server.arrivals
        await server.stop()
        try? await group.shutdownGracefully()
        #expect(report.bytesSent == 8)
        #expect(report.timing.samples == 2)
        #expect(report.timing.maxMicroseconds < Double(Self.tolerance.nanoseconds / 1000))
        #expect(arrivals.map(\.text).joined() == "s2a;s2b;")
    }
}
