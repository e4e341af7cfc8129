import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// Four `replay drive --shard K/4` processes share one recording against one
/// redis-server, begin together (`--start-at`), and `replay merge-reports`
/// gives what one unsharded driver reports.
@Suite(.enabled(if: RedisServer.isInstalled))
struct ShardedDriveTests {
    static let sessions = 24

    /// `tapedeck record` in front of redis-server while redis-cli runs one
    /// SET a connection.
    private static func record(in directory: TemporaryDirectory) throws -> String {
        let redis = try RedisServer(directory: directory.file("recorded-redis"))
        defer { redis.stop() }
        let path = directory.file("sets.pcap")
        let (recorder, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(redis.port)", "-w", path, "--quiet"])
        let port = try #require(listen.port)
        for index in 0..<sessions {
            #expect(try RedisServer.cli(["-p", "\(port)", "SET", "key:\(index)", "value \(index)"]) == "OK")
        }
        recorder.signal(SIGTERM)
        #expect(try recorder.waitForExit() == 0)
        return path
    }

    private static func report(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    @Test func fourShardsMergeIntoWhatOneDriverReports() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.file("recorded-redis"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.file("shared-redis"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.file("single-redis"), withIntermediateDirectories: true)
        let recording = try Self.record(in: directory)

        let shared = try RedisServer(directory: directory.file("shared-redis"))
        defer { shared.stop() }
        let binary = try TapedeckExecutable.located.get()
        let startAt = Date().addingTimeInterval(2)
        let launched = Date()
        let drivers = try (0..<4).map { shard in
            try BackgroundProcess(binary, [
                "replay", "drive", recording, "--target", "127.0.0.1:\(shared.port)", "--strict", "--quiet",
                "--shard", "\(shard)/4", "--start-at", "@\(startAt.timeIntervalSince1970)",
                "--report", directory.file("shard-\(shard).json"),
            ])
        }
        for driver in drivers { #expect(try driver.waitForExit(timeout: .seconds(30)) == 0, "\(driver.outputLines)") }
        #expect(Date().timeIntervalSince(launched) >= 1.9, "the drivers waited for --start-at")
        // Every recorded SET reached the shared server once.
        for index in 0..<Self.sessions {
            #expect(try shared.cli(["GET", "key:\(index)"]) == "value \(index)")
        }
        let shards = try (0..<4).map { try Self.report(directory.file("shard-\($0).json")) }
        #expect(shards.map { $0["sessions"] as? Int } == [6, 6, 6, 6])

        let merge = try TapedeckBinary.run(["replay", "merge-reports"] + (0..<4).map { directory.file("shard-\($0).json") } + ["-o", directory.file("all.json")])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(String(decoding: merge.standardOutput, as: UTF8.self).hasPrefix("sessions 24 · sent "))
        let merged = try Self.report(directory.file("all.json"))

        let single = try RedisServer(directory: directory.file("single-redis"))
        defer { single.stop() }
        let one = try TapedeckBinary.run(["replay", "drive", recording, "--target", "127.0.0.1:\(single.port)", "--strict", "--report", directory.file("one.json")])
        #expect(one.status == 0, "\(one.standardError)")
        let unsharded = try Self.report(directory.file("one.json"))

        for key in ["sessions", "bytes_sent", "bytes_received", "connect_failures"] {
            #expect(merged[key] as? Int == unsharded[key] as? Int, "\(key)")
        }
        #expect(merged["sessions"] as? Int == Self.sessions)
        #expect((merged["mismatches"] as? [Any])?.isEmpty == true)
        let mergedTiming = try #require(merged["timing"] as? [String: Any])
        let unshardedTiming = try #require(unsharded["timing"] as? [String: Any])
        #expect(mergedTiming["samples"] as? Int == unshardedTiming["samples"] as? Int)
        // The merged percentiles are those of the four shards' histograms together.
        var counts: [Int: Int] = [:]
        for shard in shards {
            let histogram = try #require((shard["timing"] as? [String: Any])?["histogram_us"] as? [[Int]])
            for bucket in histogram { counts[bucket[0], default: 0] += bucket[1] }
        }
        #expect((mergedTiming["histogram_us"] as? [[Int]]) == counts.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
    }

    @Test(arguments: [
        (["--shard", "4/4"], "tapedeck: --shard 4/4 is not K/N, shard K of N with K from 0 to N-1"),
        (["--shard", "x"], "tapedeck: --shard x is not K/N"),
        (["--start-at", "tomorrow"], "tapedeck: --start-at tomorrow is not an RFC 3339 time"),
    ])
    func badShardOrStartIsOneLine(arguments: [String], message: String) throws {
        let result = try TapedeckBinary.run(["replay", "drive", ReplayCommandTests.recording, "--target", "127.0.0.1:1"] + arguments)
        #expect(result.status == 2)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first?.hasPrefix(message) == true, "\(result.standardError)")
    }

    @Test func mergingWhatIsNotAReportIsOneLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data("{\"sessions\": \"many\"}".utf8).write(to: URL(fileURLWithPath: directory.file("bad.json")))
        let result = try TapedeckBinary.run(["replay", "merge-reports", directory.file("bad.json"), directory.file("missing.json")])
        #expect(result.status != 0)
        #expect(result.standardError.contains("report \(directory.file("bad.json")):"), "\(result.standardError)")
        #expect(result.errorLines.count == 1, "\(result.standardError)")
    }
}
