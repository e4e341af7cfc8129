import Faults
import Foundation
import Recording

/// What a recording made under `reset_peer` faults on both streams says
/// about each session — the manifest's marks and the RSTs tshark finds —
/// for a test to hold against what the clients saw.
public struct ResetAccount: Sendable {
    /// The client ports of the sessions the manifest lists a fault for.
    public var touched: Set<UInt16> = []
    /// The client ports of the sessions the manifest marks reset by a
    /// `reset_peer` fault, their end `rst`.
    public var markedReset: Set<UInt16> = []
    /// How the untouched sessions ended.
    public var untouchedEnds: [SessionEnd] = []
    /// Per client port, the RSTs tshark finds: `(from, to)` ports.
    public var resets: [UInt16: [(source: UInt16, destination: UInt16)]] = [:]
    /// Every fault the manifest lists, over all sessions.
    public var listed: [SessionFault] = []

    /// The upstream's port: every session's server port.
    public let upstreamPort: UInt16

    /// Reads `recording`'s manifest and its RSTs (tshark).
    public init(recording: String, upstreamPort: UInt16) throws {
        self.upstreamPort = upstreamPort
        guard let manifest = try Manifest.load(forRecording: recording) else {
            throw ChildProcess.Failure(description: "no manifest beside \(recording)")
        }
        for session in manifest.sessions {
            guard case .ip(_, let port) = session.client else { continue }
            guard let faults = session.faults else {
                untouchedEnds.append(session.end)
                continue
            }
            touched.insert(port)
            listed += faults
            if session.end == .reset, faults.contains(where: { $0.type == "reset_peer" && $0.action == "reset" }) {
                markedReset.insert(port)
            }
        }
        for reset in try TShark.resets(recording) {
            let port = reset.source == upstreamPort ? reset.destination : reset.source
            resets[port, default: []].append(reset)
        }
    }

    /// True when every session in `ports` has exactly two RSTs: one from
    /// the upstream's port toward the client, one from the client toward it.
    public func eachWayOnce(_ ports: Set<UInt16>) -> Bool {
        ports.allSatisfy { port in
            let found = resets[port] ?? []
            return found.count == 2
                && found.contains { $0.source == upstreamPort && $0.destination == port }
                && found.contains { $0.source == port && $0.destination == upstreamPort }
        }
    }

    /// RST frames in the whole recording.
    public var resetCount: Int { resets.values.reduce(0) { $0 + $1.count } }

    /// How many of connections `0..<connections` the two `reset_peer`
    /// faults (`reset_peer_upstream`, `reset_peer_downstream`) apply to
    /// with this seed and toxicity: each of them gets reset.
    public static func predicted(seed: UInt64, toxicity: Double, connections: Int) throws -> Int {
        let plan = try FaultStream.allCases.map { try Fault(.resetPeer(timeout: .seconds(1)), stream: $0, toxicity: toxicity) }
        return (0..<connections).filter { id in
            FaultStream.allCases.contains { stream in
                FaultPipeline(FaultPlan(stream, seed: seed, connection: UInt64(id)), faults: plan, at: .zero).applies.contains(true)
            }
        }.count
    }
}
