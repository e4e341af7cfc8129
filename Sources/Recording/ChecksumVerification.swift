import PcapFile

/// `tapedeck inspect --verify`: each session's bytes and checksums computed
/// again from a recording's pcap, against what its manifest says was
/// recorded. A damaged, cut or edited file disagrees.
package struct ChecksumVerification: Sendable {
    package var path: String
    /// Sessions the manifest lists whose bytes were checked.
    package var sessionsChecked = 0
    /// One line each: what disagrees, in which session.
    package var problems: [String] = []

    package var passed: Bool { problems.isEmpty }

    /// Reads `path` alone (a file of a rotated set carries its own share of
    /// each session) and compares it with the manifest beside it.
    package static func verify(path: String) throws -> ChecksumVerification {
        var result = ChecksumVerification(path: path)
        guard let manifest = try Manifest.load(forRecording: path) else {
            result.problems.append("no manifest (\(Manifest.path(forRecording: path))) to verify against")
            return result
        }
        // Manifests written before XXH3 carry SHA-256: compute what each one has.
        var kinds: [ChecksumKind] = [.xxh3]
        if manifest.sessions.contains(where: { $0.clientToServer.xxh3 == nil || $0.serverToClient.xxh3 == nil }) {
            kinds.append(.sha256)
        }
        var summaries = SessionSummaries(checksums: kinds)
        try RecordingReader(paths: [path]).read(truncated: { error in
            result.problems.append("the file is cut short: \(error)")
        }, lend: { summaries.take($0) }) { summaries.take($0) }

        var computed: [WireKey: SessionSummary] = [:]
        for summary in summaries.closed {
            if let key = summary.wireKey { computed[key] = summary }
        }
        for recorded in manifest.sessions {
            guard let key = recorded.wireKey else { continue }
            guard let found = computed.removeValue(forKey: key) ?? computed.removeValue(forKey: key.reversed) else {
                result.problems.append("session \(recorded.index) (\(recorded.client) → \(recorded.server)): listed in the manifest, not in the file")
                continue
            }
            result.sessionsChecked += 1
            for (name, expected, actual) in [("client→server", recorded.clientToServer, found.clientToServer), ("server→client", recorded.serverToClient, found.serverToClient)] {
                if let problem = Self.difference(expected: expected, actual: actual) {
                    result.problems.append("session \(recorded.index) \(name): \(problem)")
                }
            }
        }
        for extra in computed.values.sorted(by: { $0.index < $1.index }) {
            result.problems.append("session \(extra.index) (\(extra.client) → \(extra.server)): in the file, not in the manifest")
        }
        return result
    }

    private static func difference(expected: DirectionSummary, actual: DirectionSummary) -> String? {
        if expected.bytes != actual.bytes {
            return "the manifest says \(expected.bytes) bytes, the file holds \(actual.bytes)"
        }
        if let xxh3 = expected.xxh3 {
            return xxh3 == actual.xxh3 ? nil : "XXH3 \(actual.xxh3 ?? "-") in the file, \(xxh3) in the manifest"
        }
        if let sha256 = expected.sha256 {
            return sha256 == actual.sha256 ? nil : "SHA-256 \(actual.sha256 ?? "-") in the file, \(sha256) in the manifest"
        }
        return nil
    }
}
