import Foundation
import Recording
import Replay
import SampleServer
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// `FaultProxy.start(recordTo:)` treats an earlier recording as `tapedeck
/// record` does: refused, untouched, unless `overwrite: true`.
@Suite struct FaultProxyRecordingTests {
    @Test(arguments: ["session.pcap", "session.pcap.json"])
    func anEarlierRecordingIsRefusedAndLeftAlone(existing: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("session.pcap")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: directory.file(existing)))
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        do {
            let proxy = try await FaultProxy.start(upstream: echo.endpoint, recordTo: path)
            await proxy.stop()
            Issue.record("an earlier recording at \(existing) was not refused")
        } catch let error as RecordingError {
            #expect(error.code == .exists)
            #expect(error.message == "recordTo \(path): an earlier recording is there (\(directory.file(existing))); pass overwrite: true to replace it, or choose another name")
        }
        #expect(try String(contentsOfFile: directory.file(existing), encoding: .utf8) == "keep me")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [existing])
    }

    @Test func overwriteReplacesTheRecordingAndItsManifest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("session.pcap")
        for file in [path, Manifest.path(forRecording: path)] {
            try Data("old".utf8).write(to: URL(fileURLWithPath: file))
        }
        let echo = try await EchoServer.start()
        defer { Task { await echo.stop() } }
        let proxy = try await FaultProxy.start(upstream: echo.endpoint, recordTo: path, overwrite: true)
        #expect(try await BlockingClient.exchange(proxy.endpoint, send: Array("new".utf8), halfClose: true) == Array("new".utf8))
        await proxy.stop()
        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.sessions.map(\.clientToServer.bytes) == [3])
        #expect(try SessionScript.load(paths: [path]).count == 1)
    }
}
