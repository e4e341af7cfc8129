import Faults
import Foundation
import Logging
import NIOCore
import NIOPosix
import PcapFile
import Proxy
import Recording
import TapedeckTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A proxy (and optionally a recorder) in a fresh temporary directory.
final class ProxyHarness: @unchecked Sendable {
    let directory: TemporaryDirectory
    let proxy: ProxyServer
    let recorder: Recorder?
    private var stopped = false

    /// The recording's path in single-file mode.
    var recordingPath: String { directory.file("rec.pcap") }

    init(
        listeners: [Endpoint],
        upstream: Endpoint,
        directory: TemporaryDirectory? = nil,
        recording: ((String) -> RecorderConfiguration)? = nil,
        connectTimeout: Duration = .seconds(5),
        socketMode: mode_t = 0o600,
        faults: [Fault] = [],
        seed: UInt64 = 0
    ) async throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        let logger = Logger(label: "proxy-test")
        recorder = try recording.map { try Recorder(configuration: $0(directory.file("rec.pcap")), logger: logger) }
        var configuration = ProxyConfiguration(listeners: listeners, upstream: upstream, faults: FaultSettings(faults: faults, seed: seed))
        configuration.connectTimeout = connectTimeout
        configuration.socketMode = socketMode
        proxy = ProxyServer(
            configuration: configuration,
            group: MultiThreadedEventLoopGroup.singleton,
            sink: recorder,
            logger: logger
        )
        try await proxy.start()
    }

    /// Default: record everything into `rec.pcap`.
    static func recording(_ listeners: [Endpoint], to upstream: Endpoint) async throws -> ProxyHarness {
        try await ProxyHarness(listeners: listeners, upstream: upstream, recording: { RecorderConfiguration(output: .file(path: $0)) })
    }

    var endpoints: [Endpoint] { proxy.listeningEndpoints }

    /// Stops the proxy (sessions get `grace`) and closes the recording.
    func stop(grace: Duration = .seconds(3)) async throws {
        guard !stopped else { return }
        stopped = true
        await proxy.shutdown(grace: grace)
        if let recorder {
            try await BlockingSocket.onThread { recorder.finish() }
        }
    }

    func remove() {
        directory.remove()
    }

    /// A path for a Unix socket in the harness's directory.
    func socketPath(_ name: String) -> String {
        directory.file(name)
    }
}

/// Waits (bounded) until `condition` holds.
func eventually(timeout: Duration = .seconds(10), _ what: String = "condition", _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw ChildProcess.Failure(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Random bytes from a seed.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        let value = generator.next()
        for shift in stride(from: 0, to: 64, by: 8) where index < count {
            bytes[index] = UInt8(truncatingIfNeeded: value >> UInt64(shift))
            index += 1
        }
    }
    return bytes
}

/// A blocking TCP socket listening on 127.0.0.1 at a port the kernel picks,
/// and the address it got.
func listenOnLoopback(backlog: Int32, reuseAddress: Bool = false) throws -> (fd: Int32, address: sockaddr_in) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if reuseAddress {
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0, listen(fd, backlog) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard result == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw ChildProcess.Failure(description: "listener on 127.0.0.1: \(reason)")
    }
    return (fd, address)
}

/// A TCP listener (127.0.0.1, port 0) whose accept queue is full, so a new
/// connection attempt hangs (its SYN is dropped) until `drain()` makes room.
final class StalledListener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private var fillers: [Int32] = []
    /// Connections from others that `drain()` accepted along with the fillers'.
    private var pending: [Int32] = []

    init() throws {
        var address: sockaddr_in
        (fd, address) = try listenOnLoopback(backlog: 0)
        port = UInt16(bigEndian: address.sin_port)
        // Fill the accept queue (backlog 0 admits one), then one more in flight.
        for _ in 0..<2 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fillers.append(filler)
        }
        usleep(50_000)
    }

    var endpoint: Endpoint { .ip(.loopbackV4, port: port) }

    /// Accepts the next connection, waiting at most `timeoutMilliseconds`.
    func accept(timeoutMilliseconds: Int32) -> Int32? {
        if !pending.isEmpty { return pending.removeFirst() }
        return acceptFromQueue(timeoutMilliseconds: timeoutMilliseconds)
    }

    private func acceptFromQueue(timeoutMilliseconds: Int32) -> Int32? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return nil }
        let connection = Glibc.accept(fd, nil, nil)
        return connection >= 0 ? connection : nil
    }

    /// Accepts and closes the fillers' connections: the next SYN gets through.
    /// A connection that arrives meanwhile (the proxy's retried SYN) is kept
    /// for `accept`, not closed with the fillers'.
    func drain() {
        let fillerPorts = Set(fillers.map(Self.localPort))
        while let connection = acceptFromQueue(timeoutMilliseconds: 200) {
            if fillerPorts.contains(Self.peerPort(connection)) {
                close(connection)
            } else {
                pending.append(connection)
            }
        }
        for filler in fillers { close(filler) }
        fillers = []
    }

    private static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func peerPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    deinit {
        for filler in fillers { close(filler) }
        for connection in pending { close(connection) }
        close(fd)
    }
}

/// Runs tests that move a lot of memory (or measure it) one at a time,
/// across suites: a process-wide RSS measurement means nothing while
/// another test allocates.
actor HeavyTraffic {
    static let shared = HeavyTraffic()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    static func exclusively<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await shared.acquire()
        do {
            let result = try await body()
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
