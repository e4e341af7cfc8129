import Foundation
import Recording
import TapedeckTestSupport
import Testing

/// `tapedeck proxy` out of file descriptors: the listener backs off instead
/// of spinning, and serves again once descriptors are free.
@Suite struct FileLimitTests {
    /// CPU seconds (user + system) a process has used so far.
    private static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime field 14, stime field 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test func listenerBacksOffAndRecovers() async throws {
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        // 64 descriptors: the runtime and the listener take some, each session two.
        let (proxy, endpoint) = try TapedeckProcess.proxy(["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "--quiet"], shellPrefix: "ulimit -n 64 &&")
        defer { proxy.stop() }
        let pid = proxy.process.processIdentifier

        // More connections than the proxy has descriptors for; the kernel
        // completes them into the listen backlog whether or not they are accepted.
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<60 {
            held.append(try BlockingClient.connect(endpoint, timeout: .seconds(2)))
        }
        // Let it work through the backlog (accepting what it can, resetting
        // clients it has no descriptor for an upstream for), then watch it idle.
        try await Task.sleep(for: .seconds(1))
        let before = Self.cpuSeconds(pid)
        try await Task.sleep(for: .seconds(1))
        let spent = Self.cpuSeconds(pid) - before
        #expect(spent < 0.3, "out of descriptors for a second, the proxy used \(spent) s of CPU; it logged \(proxy.outputLines.count) lines: \(proxy.outputLines.suffix(3))")

        held.forEach { close($0) }
        held.removeAll()
        // Once descriptors are free again, a new client is served.
        var reply: [UInt8] = []
        for _ in 0..<50 where reply.isEmpty {
            reply = (try? await BlockingClient.exchange(endpoint, send: Array("back".utf8), halfClose: true, timeout: .seconds(2))) ?? []
            if reply.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(reply == Array("back".utf8))
    }
}
