import Foundation
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// A real redis-server from Debian's package, on a free loopback port and a
/// Unix socket in `directory`, persisting nothing. Stopped with SIGKILL.
public final class RedisServer: @unchecked Sendable {
    public static let executable = "/usr/bin/redis-server"
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    public let process = Process()
    public let port: UInt16
    public let socketPath: String
    public var endpoint: Endpoint { .ip(.loopbackV4, port: port) }

    /// With `tls`, `port` speaks TLS only (`--tls-port`), with that
    /// certificate, and asks clients for none.
    public init(directory: String, tls: TestCertificates? = nil) throws {
        port = try freeLoopbackPort()
        socketPath = directory + "/redis.sock"
        process.executableURL = URL(fileURLWithPath: Self.executable)
        let ports = if let tls {
            ["--port", "0", "--tls-port", "\(port)", "--tls-cert-file", tls.certificateFile, "--tls-key-file", tls.keyFile,
             "--tls-ca-cert-file", tls.caFile, "--tls-auth-clients", "no"]
        } else {
            ["--port", "\(port)"]
        }
        process.arguments = ["--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
                             "--unixsocket", socketPath, "--unixsocketperm", "700", "--dir", directory] + ports
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while !(loopbackAccepts(port) && FileManager.default.fileExists(atPath: socketPath)) {
            guard ContinuousClock.now < deadline else {
                stop()
                throw ChildProcess.Failure(description: "redis-server did not start listening on port \(port)")
            }
            usleep(10_000)
        }
    }

    /// `redis-cli` with these arguments against this server (TCP); its output, trimmed.
    public func cli(_ arguments: [String]) throws -> String {
        try Self.cli(["-p", "\(port)"] + arguments)
    }

    /// `redis-cli` with exactly these arguments; its output, trimmed.
    public static func cli(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run("/usr/bin/redis-cli", arguments, timeoutSeconds: 20)
        return String(decoding: result.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGKILL, then a bounded wait (Foundation's waitUntilExit spins).
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        for _ in 0..<200 where process.isRunning {
            usleep(10_000)
        }
    }
}

/// Whether something accepts connections on 127.0.0.1:`port` now.
public func loopbackAccepts(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A TCP port on 127.0.0.1 nobody listens on (bound then released).
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0 else { throw ChildProcess.Failure(description: "cannot find a free port") }
    return UInt16(bigEndian: address.sin_port)
}
