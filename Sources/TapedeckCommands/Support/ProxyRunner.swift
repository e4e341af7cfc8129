import ArgumentParser
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
/// them, write out the recording, exit 0 — or 3 when the disk failed and
/// the recording is missing traffic, so scripts notice.
///
/// Files are created only once every listener is bound: a port in use
/// leaves an earlier recording as it was.
struct ProxyRunner {
    let options: ProxyOptions
    let recording: RecorderConfiguration?
    /// Sessions no fault needs to see leave NIO (`ProxyConfiguration.splice`);
    /// recorded ones are copied there, never spliced.
    var splice = true
    /// How much a session moves on NIO before it is spliced (nil: the proxy's default).
    var spliceAfterBytes: Int?

    func run() async throws {
        let logger = options.logging.makeLogger(label: "tapedeck")
        let seed = options.faults.seed ?? UInt64.random(in: .min ... .max)
        var configuration = try options.configuration(seed: seed)
        configuration.splice = configuration.splice && splice
        if let spliceAfterBytes { configuration.spliceAfterBytes = spliceAfterBytes }
        if !configuration.faults.faults.isEmpty {
            logger.info("faults", metadata: ["faults": "\(Self.json(configuration.faults.faults))", "seed": "\(seed)"])
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let proxy = ProxyServer(configuration: configuration, group: group, logger: logger)
        // Listen first: a command that cannot (a port in use, another
        // instance on the socket) must leave an earlier recording as it was.
        var recorder: Recorder?
        do {
            try await proxy.prepare()
            if var recording {
                // The manifest says which faults were in force, and with which seed.
                if !configuration.faults.faults.isEmpty {
                    recording.properties["faults"] = Self.json(configuration.faults.faults)
                    recording.properties["seed"] = String(seed)
                }
                try Self.refuseToReplace(recording)
                let unstarted = try Recorder(unstarted: recording, logger: logger)
                // With --overwrite, the earlier recording's files go now
                // that the listeners are bound.
                recording.removeReplacedFiles()
                try unstarted.start()
                recorder = unstarted
                proxy.setSink(unstarted)
            }
        } catch {
            await proxy.shutdown(grace: .zero)
            recorder?.finish()
            try? await group.shutdownGracefully()
            throw error
        }

        // Shutdown runs backwards through this list: the notice is logged,
        // the status line goes, the proxy stops accepting and drains, and
        // the recording closes last. The proxy starts accepting (and says
        // it listens) inside the group, once SIGINT and SIGTERM are caught.
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
            "tls.failures": "\(totals.tlsFailures)",
        ])
        if let recorder, recorder.lostRecording {
            printError(Self.loss(recorder))
            throw ExitCode(3)
        }
    }

    /// An earlier recording where this one would go is an error, unless
    /// `--overwrite` asked for it to be replaced.
    static func refuseToReplace(_ recording: RecorderConfiguration) throws {
        guard case .file(let path) = recording.output else { return }
        try recording.refuseToReplace(option: "-w", optIn: "pass --overwrite", instead: "use --per-session \(path)")
    }

    /// The line at exit when the recording is missing traffic.
    static func loss(_ recorder: Recorder) -> String {
        let lost = byteText(recorder.unrecordedBytes.load(ordering: .relaxed))
        if let reason = recorder.stopReason {
            return "recording stopped early, \(lost) of traffic not recorded: \(reason)"
        }
        return "recording incomplete, \(lost) of traffic not recorded: the disk failed and recording went on in a new file (see the log)"
    }

    static func status(_ snapshot: ProxyStatistics.Snapshot, recorder: Recorder?) -> String {
        var parts = [
            "sessions \(snapshot.liveSessions) live / \(snapshot.totalSessions) total",
            "→ \(byteText(snapshot.bytesClientToServer))",
            "← \(byteText(snapshot.bytesServerToClient))",
        ]
        if let recorder {
            var recorded = "recorded \(byteText(Int(recorder.recordedBytes.load(ordering: .relaxed))))"
            let unrecorded = recorder.unrecordedBytes.load(ordering: .relaxed)
            if let reason = recorder.stopReason {
                let cause = reason.errorNumber.map { String(cString: strerror($0)) } ?? reason.message
                recorded = "recording STOPPED (\(cause)): \(byteText(unrecorded)) unrecorded"
            } else {
                let file = recorder.currentFile
                if !file.isEmpty { recorded += " \(file)" }
                let dropped = recorder.droppedBytes.load(ordering: .relaxed)
                if dropped > 0 { recorded += " (dropped \(byteText(dropped)))" }
                if unrecorded > 0 { recorded += " (unrecorded \(byteText(unrecorded)))" }
            }
            parts.append(recorded)
        }
        parts.append("upstream failures \(snapshot.upstreamFailures)")
        if snapshot.faultsFired > 0 { parts.append("faults fired \(snapshot.faultsFired)") }
        if snapshot.tlsFailures > 0 { parts.append("TLS failures \(snapshot.tlsFailures)") }
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
