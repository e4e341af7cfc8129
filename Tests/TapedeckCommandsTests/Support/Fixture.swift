import Foundation
import TapedeckTestSupport
import Testing

/// A capture file in the repository the tests read: tcpdump's and dumpcap's
/// captures in Tests/RecordingTests/Captures, and Tapedeck's own recordings.
struct Fixture: Sendable, CustomTestStringConvertible {
    var path: String
    var isRecording: Bool

    var name: String { URL(fileURLWithPath: path).lastPathComponent }
    var testDescription: String { isRecording ? "Recordings/\(name)" : name }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every pcap and pcapng file in Tests/RecordingTests/Captures.
    static let captures = files(in: "Tests/RecordingTests/Captures", extensions: ["pcap", "pcapng"], isRecording: false)
    /// Tapedeck recordings (each with its manifest) in Recordings/.
    static let recordings = files(in: "Recordings", extensions: ["pcap"], isRecording: true)
    static let all = captures + recordings

    static func capture(_ name: String) -> Fixture {
        Fixture(path: packageRoot.appendingPathComponent("Tests/RecordingTests/Captures/\(name)").path, isRecording: false)
    }

    private static func files(in directory: String, extensions: Set<String>, isRecording: Bool) -> [Fixture] {
        let url = packageRoot.appendingPathComponent(directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension) }.sorted()
            .map { Fixture(path: url.appendingPathComponent($0).path, isRecording: isRecording) }
    }
}
