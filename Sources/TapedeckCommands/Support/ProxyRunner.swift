import Faults
import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording
import ServiceLifecycle

/// Runs a proxy (recording or not) until SIGINT/SIGTERM, then shuts it down
/// in order: stop accepting, give live sessions the grace period, close
/// them, write out the recording, exit 0.
struct ProxyRunner {
    let options: ProxyOptions
    let recording: RecorderConfiguration?

    func run() async throws {
        let logger = options.logging.makeLogger(label: "tapedeck")
        let seed = options.faults.seed ?? UInt64.random(in: .min ... .max)
        let configuration = try options.configuration(seed: seed)
        if !configuration.faults.isEmpty {
            logger.info("faults", metadata: ["faults": "\(Self.json(configuration.faults))", "seed": "\(seed)"])
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let proxy = ProxyServer(configuration: configuration, group: group, logger: logger)
        // Listen first: a command that cannot (another instance there) must
        // not have truncated a file on the way.
        var recorder: Recorder?
        do {
            try await proxy.prepare()
            if var recording {
                // The manifest says which faults were in force, and with which seed.
                if !configuration.faults.isEmpty {
                    recording.properties["faults"] = Self.json(configuration.faults)
                    recording.properties["seed"] = String(seed)
                }
                recorder = try Recorder(configuration: recording, logger: logger)
                proxy.setSink(recorder)
            }
        } catch {
            await proxy.shutdown(grace: .zero)
            try? await group.shutdownGracefully()
            throw error
        }
        proxy.startAccepting()

        // Shutdown runs backwards through this list: the notice is logged,
        // the status line goes, the proxy stops accepting and drains, and
        // the recording closes last.
        var services: [any Service] = []
        if let recorder { services.append(recorder) }
        services.append(ProxyService(proxy, grace: options.grace.duration))
        let statusRecorder = recorder
        services.append(StatusLineService(enabled: !options.quiet) {
            Self.status(proxy.statistics.snapshot, recorder: statusRecorder)
        })
        services.append(ShutdownNotice(logger: logger, grace: options.grace))
        try await ServiceGroup.runUntilSignalled(services, logger: logger)
        try? await group.shutdownGracefully()
        let totals = proxy.statistics.snapshot
        logger.info("stopped", metadata: [
            "sessions.total": "\(totals.totalSessions)",
            "bytes.client_to_server": "\(totals.bytesClientToServer)",
            "bytes.server_to_client": "\(totals.bytesServerToClient)",
            "upstream.failures": "\(totals.upstreamFailures)",
            "faults.fired": "\(totals.faultsFired)",
        ])
    }

    static func status(_ snapshot: ProxyStatistics.Snapshot, recorder: Recorder?) -> String {
        var parts = [
            "sessions \(snapshot.liveSessions) live / \(snapshot.totalSessions) total",
            "→ \(byteText(snapshot.bytesClientToServer))",
            "← \(byteText(snapshot.bytesServerToClient))",
        ]
        if let recorder {
            var recorded = "recorded \(byteText(Int(recorder.recordedBytes.load(ordering: .relaxed))))"
            let file = recorder.currentFile
            if !file.isEmpty { recorded += " \(file)" }
            let dropped = recorder.droppedBytes.load(ordering: .relaxed)
            if dropped > 0 { recorded += " (dropped \(byteText(dropped)))" }
            parts.append(recorded)
        }
        parts.append("upstream failures \(snapshot.upstreamFailures)")
        if snapshot.faultsFired > 0 { parts.append("faults fired \(snapshot.faultsFired)") }
        return parts.joined(separator: " · ")
    }

    /// Faults in Toxiproxy's JSON shape, on one line.
    static func json(_ faults: [Fault]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(faults)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func byteText(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
