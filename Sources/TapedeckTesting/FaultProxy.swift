import Faults
import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording

/// A fault-injecting proxy for a test, in front of a real dependency
/// (`tapedeck proxy`, in-process). Faults can change while connections are
/// live; with `recordTo`, every session is recorded as a pcap.
///
/// ```swift
/// let proxy = try await FaultProxy.start(upstream: redisEndpoint)
/// try await proxy.setFaults([Fault(.latency(latency: .milliseconds(100), jitter: .zero))])
/// // … the client under test talks to proxy.endpoint …
/// await proxy.stop()
/// ```
public final class FaultProxy: Sendable {
    /// Where clients connect (a port 0 resolved).
    public let endpoint: Endpoint
    private let proxy: ProxyServer
    private let recorder: Recorder?
    private let directory: String?

    private init(endpoint: Endpoint, proxy: ProxyServer, recorder: Recorder?, directory: String?) {
        self.endpoint = endpoint
        self.proxy = proxy
        self.recorder = recorder
        self.directory = directory
    }

    /// - Parameters:
    ///   - recordTo: a pcap path to record every session to (its manifest
    ///     beside it); the file is complete once ``stop()`` returns.
    ///   - overwrite: replace an earlier recording at `recordTo`; without
    ///     it, one there is an error (a `RecordingError`, as `tapedeck
    ///     record` refuses without `--overwrite`), and nothing starts.
    ///   - tls: end clients' TLS and/or speak TLS to the upstream; the
    ///     recording holds the plaintext (see ``TestCertificateAuthority``).
    public static func start(
        upstream: Endpoint,
        listen: TestListener = .loopback,
        faults: [Fault] = [],
        seed: UInt64 = 0,
        recordTo path: String? = nil,
        overwrite: Bool = false,
        tls: ProxyTLS? = nil,
        logger: Logger = Logger(label: "tapedeck.fault-proxy")
    ) async throws -> FaultProxy {
        let recording = path.map { RecorderConfiguration(output: .file(path: $0), overwrite: overwrite) }
        try recording?.refuseToReplace(option: "recordTo", optIn: "pass overwrite: true")
        let (endpoint, directory) = try listen.resolve()
        var configuration = ProxyConfiguration(listeners: [endpoint], upstream: upstream, faults: FaultSettings(faults: faults, seed: seed, canChange: true))
        configuration.tls = tls
        let proxy = ProxyServer(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        // Listen first: a proxy that cannot leaves an earlier recording as it was.
        var recorder: Recorder?
        do {
            try await proxy.prepare()
            if let recording {
                recording.removeReplacedFiles()
                recorder = try Recorder(configuration: recording, logger: logger)
                proxy.setSink(recorder)
            }
        } catch {
            await proxy.shutdown(grace: .zero)
            recorder?.finish()
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
        proxy.startAccepting()
        return FaultProxy(endpoint: proxy.listeningEndpoints.first ?? endpoint, proxy: proxy, recorder: recorder, directory: directory)
    }

    /// The faults in force.
    public var faults: [Fault] { proxy.faults }

    /// Replaces the faults, on live connections too (nothing is lost or
    /// reordered by the change).
    public func setFaults(_ faults: [Fault]) async {
        await proxy.setFaults(faults)
    }

    /// Sessions so far, bytes each way, faults fired.
    public var statistics: ProxyStatistics.Snapshot { proxy.statistics.snapshot }

    /// Stops listening, closes live sessions, and finishes the recording.
    public func stop() async {
        await proxy.shutdown(grace: .zero)
        recorder?.finish()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}
