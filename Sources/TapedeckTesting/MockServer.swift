import Faults
import Foundation
import Logging
import NIOCore
import NIOPosix
import Recording
import Replay
import TapedeckTLS

/// Where a test's server or proxy listens.
public enum TestListener: Sendable {
    /// 127.0.0.1 on a port the kernel picks.
    case loopback
    /// A Unix socket in a fresh temporary directory, removed at `stop()`.
    case temporaryUnixSocket
    /// Exactly this endpoint.
    case endpoint(Endpoint)

    func resolve() throws -> (Endpoint, directory: String?) {
        switch self {
        case .loopback:
            return (.ip(.loopbackV4, port: 0), nil)
        case .endpoint(let endpoint):
            return (endpoint, nil)
        case .temporaryUnixSocket:
            var template = Array((NSTemporaryDirectory() + "/tapedeck-test.XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else {
                throw ReplayError(.listen, "cannot create a temporary directory for a Unix socket: \(String(cString: strerror(errno)))")
            }
            let directory = String(cString: made)
            return (.unix(path: directory + "/server.sock"), directory)
        }
    }
}

/// A recorded server for a test (`tapedeck replay serve`, in-process): for
/// HTTP, Redis and PostgreSQL recordings it answers each request from the
/// recorded exchanges, whatever connection and order it comes in
/// (`answering: .requests(…)` sets masks and the unmatched policy;
/// `.sessions(…)` plays a whole recorded session per connection instead).
/// Masks learned by `tapedeck noise` are loaded with `Masks.load(path:)`:
/// `.requests(RequestMatching(masking: try Masks.load(path: "masks.json").requestMasking))`.
///
/// ```swift
/// let server = try await MockServer.start(recording: "Recordings/redis.pcap")
/// // point the client under test at server.endpoint …
/// let report = await server.stop()
/// #expect(report.match?.unmatchedCount == 0)            // every request answered from the recording
/// #expect(report.match?.unusedExchangeCount == 0)       // nothing recorded went unused
/// ```
public final class MockServer: Sendable {
    /// Where clients connect (a port 0 resolved).
    public let endpoint: Endpoint
    private let server: ReplayServer
    private let directory: String?

    private init(endpoint: Endpoint, server: ReplayServer, directory: String?) {
        self.endpoint = endpoint
        self.server = server
        self.directory = directory
    }

    /// Starts serving the sessions of a recording: a file's path (a
    /// recording, or a capture from tcpdump or Wireshark), several paths read
    /// as one (`["a.pcap", "b.pcap"]`), or sessions already loaded or built
    /// by hand (`[SessionScript]`).
    ///
    /// - Parameters:
    ///   - filter: a BPF filter applied to the files as they are read.
    ///   - speed: 1 keeps the recorded delays, 0 answers at once (the
    ///     default, so tests run fast).
    ///   - strict: compare what clients send with the recording; differences
    ///     land in the report (and `onMismatch` applies).
    ///   - faults: faults on the served connections (upstream: what the
    ///     client sends; downstream: the answers), changeable with
    ///     ``setFaults(_:)``.
    ///   - tls: speak TLS to clients (see ``TestCertificateAuthority``).
    public static func start(
        recording: some MockRecording,
        filter: String? = nil,
        listen: TestListener = .loopback,
        answering: Answering = .automatic(),
        loop: Bool = false,
        speed: Double = 0,
        turnIdle: Duration = .milliseconds(50),
        strict: Bool = true,
        onMismatch: MismatchPolicy = .close,
        ignore: [IgnoreRule] = [],
        faults: [Fault] = [],
        seed: UInt64 = 0,
        tls: ServingTLS? = nil,
        logger: Logger = Logger(label: "tapedeck.mock-server")
    ) async throws -> MockServer {
        let scripts = try recording.sessionScripts(filter: filter)
        let (endpoint, directory) = try listen.resolve()
        var configuration = ServeConfiguration(
            listeners: [endpoint],
            answering: answering,
            playback: Playback(
                timing: ReplayTiming(speed: speed, turnIdle: turnIdle),
                comparison: ReplayComparison(strict: strict, policy: onMismatch, ignore: ignore),
                faults: FaultSettings(faults: faults, seed: seed, canChange: true)
            )
        )
        configuration.loop = loop
        configuration.tls = tls
        let server = try ReplayServer(scripts: scripts, configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        do {
            try await server.start()
        } catch {
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
        return MockServer(endpoint: server.endpoints.first ?? endpoint, server: server, directory: directory)
    }

    /// Replaces the faults, on live connections too.
    public func setFaults(_ faults: [Fault]) async {
        await server.setFaults(faults)
    }

    /// What has happened so far.
    public var report: ServeReport { server.report }

    /// Stops listening, closes live connections, and returns the report.
    @discardableResult
    public func stop() async -> ServeReport {
        await server.shutdown()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        return server.report
    }
}
