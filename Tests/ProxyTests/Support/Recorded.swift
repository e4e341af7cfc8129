import Foundation
import PcapFile
import Recording

/// One session as read back from a recording.
struct RecordedSession {
    var index: Int
    var client: Endpoint
    var server: Endpoint
    var opened: Timestamp
    var bytes: [Direction: [UInt8]] = [.clientToServer: [], .serverToClient: []]
    var gapBytes: [Direction: Int] = [.clientToServer: 0, .serverToClient: 0]
    /// Every event in capture order: "data c2s 123", "fin s2c", "rst c2s", "gap …".
    var timeline: [(direction: Direction, kind: String, time: Timestamp)] = []
    var end: SessionEnd = .open
    var startedMidFlow: Bool

    var clientToServer: [UInt8] { bytes[.clientToServer]! }
    var serverToClient: [UInt8] { bytes[.serverToClient]! }

    /// Position in the timeline of the first event of `kind` in `direction`.
    func first(_ kind: String, _ direction: Direction) -> Int? {
        timeline.firstIndex { $0.kind == kind && $0.direction == direction }
    }

    func last(_ kind: String, _ direction: Direction) -> Int? {
        timeline.lastIndex { $0.kind == kind && $0.direction == direction }
    }
}

enum Recorded {
    /// Reads `paths` as one capture; real endpoints (Unix paths) come from the manifests.
    static func sessions(_ paths: [String]) throws -> [RecordedSession] {
        var real: [[Endpoint]: SessionSummary] = [:]
        for path in paths {
            for summary in try Manifest.load(forRecording: path)?.sessions ?? [] {
                real[summary.wire ?? [summary.client, summary.server]] = real[summary.wire ?? [summary.client, summary.server]] ?? summary
            }
        }
        var sessions: [Int: RecordedSession] = [:]
        try RecordingReader(paths: paths).read { event in
            switch event {
            case .opened(let session):
                var client = session.client
                var server = session.server
                var midFlow = session.startedMidFlow
                if let summary = real[[session.client, session.server]] {
                    client = summary.client
                    server = summary.server
                    midFlow = midFlow || summary.startedMidFlow
                }
                sessions[session.index] = RecordedSession(index: session.index, client: client, server: server, opened: session.opened, startedMidFlow: midFlow)
            case .event(let index, let event):
                switch event.kind {
                case .data(let buffer):
                    sessions[index]!.bytes[event.direction]! += buffer.readableBytesView
                    sessions[index]!.timeline.append((event.direction, "data", event.time))
                case .halfClose:
                    sessions[index]!.timeline.append((event.direction, "fin", event.time))
                case .reset:
                    sessions[index]!.timeline.append((event.direction, "rst", event.time))
                case .gap(let count):
                    sessions[index]!.gapBytes[event.direction]! += count
                    sessions[index]!.timeline.append((event.direction, "gap", event.time))
                }
            case .closed(let index, _, let end):
                sessions[index]!.end = end
            }
        }
        return sessions.values.sorted { $0.index < $1.index }
    }

    /// Files of a rotated set `STEM_NNNNN.pcap` in `directory`, in order.
    static func rotatedFiles(in directory: String, stem: String = "rec") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix(stem + "_") && $0.hasSuffix(".pcap") }
            .sorted()
            .map { directory + "/" + $0 }
    }
}
