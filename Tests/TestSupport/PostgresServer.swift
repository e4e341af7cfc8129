import Foundation
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server from Debian's package, in a fresh cluster in
/// `directory`: scram-sha-256 passwords, a TCP port on 127.0.0.1 and a
/// Unix socket in `directory`. Run as the `postgres` user when the tests
/// run as root (PostgreSQL refuses root). Stopped with `pg_ctl -m immediate`.
public final class PostgresServer: @unchecked Sendable {
    public static var binaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
            .map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }

    public static var isInstalled: Bool {
        binaries != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/psql")
    }

    public let port: UInt16
    public let directory: String
    public let data: String
    /// The superuser's password (user `postgres`).
    public let password = "postgres-secret"
    private var server: BackgroundProcess!
    public var endpoint: Endpoint { .ip(.loopbackV4, port: port) }
    /// `.s.PGSQL.PORT` in `directory`.
    public var socketPath: String { "\(directory)/.s.PGSQL.\(port)" }

    /// With `tls`, the server accepts TLS (`ssl=on`) with that certificate.
    public init(directory: String, tls: TestCertificates? = nil) throws {
        guard let binaries = Self.binaries else { throw ChildProcess.Failure(description: "PostgreSQL is not installed") }
        port = try freeLoopbackPort()
        self.directory = directory
        data = directory + "/data"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let passwordFile = directory + "/pwfile"
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        var settings = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        if let tls {
            // The server reads its own copies: the key must be its user's, 0600.
            let certificate = directory + "/server.crt", key = directory + "/server.key"
            try FileManager.default.copyItem(atPath: tls.certificateFile, toPath: certificate)
            try FileManager.default.copyItem(atPath: tls.keyFile, toPath: key)
            chmod(key, 0o600)
            settings += ["-c", "ssl=on", "-c", "ssl_cert_file=\(certificate)", "-c", "ssl_key_file=\(key)"]
        }
        // The server user must reach its directory through the test's private one.
        chmod((directory as NSString).deletingLastPathComponent, 0o711)
        try Self.asServerUser(["/bin/chown", "-R", "postgres", directory], asRoot: true)
        try Self.asServerUser(["\(binaries)/initdb", "-D", data, "-A", "scram-sha-256", "--pwfile=\(passwordFile)", "-U", "postgres", "--no-sync"])
        // In the foreground, not through pg_ctl's daemon: a daemon started
        // under runuser keeps the test's process bookkeeping waiting.
        let command = ["\(binaries)/postgres", "-D", data, "-p", "\(port)", "-k", directory] + settings
        server = getuid() == 0
            ? try BackgroundProcess("/usr/sbin/runuser", ["-u", "postgres", "--"] + command)
            : try BackgroundProcess(command[0], Array(command.dropFirst()))
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: socketPath) || !loopbackAccepts(port) {
            guard ContinuousClock.now < deadline else {
                stop()
                throw ChildProcess.Failure(description: "PostgreSQL did not start on port \(port): \(server.outputLines.suffix(5).joined(separator: " "))")
            }
            usleep(20_000)
        }
    }

    /// psql against this server as `user`; its output, trimmed.
    public func psql(_ arguments: [String], user: String = "postgres", password: String? = nil, database: String = "postgres") throws -> String {
        try Self.psql(["-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database] + arguments, password: password ?? self.password)
    }

    /// `psql -X -A -t -v ON_ERROR_STOP=1` with these arguments and PGPASSWORD; its output, trimmed. Throws on a non-zero exit.
    public static func psql(_ arguments: [String], password: String) throws -> String {
        let result = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(password)", "PGCONNECT_TIMEOUT=10", "/usr/bin/psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + arguments, timeoutSeconds: 30)
        guard result.status == 0 else {
            throw ChildProcess.Failure(description: "psql \(arguments.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
        return String(decoding: result.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Immediate shutdown (SIGQUIT to the postmaster), then a bounded wait.
    public func stop() {
        guard let server else { return }
        if let pid = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8).split(separator: "\n").first.flatMap({ Int32($0) }) {
            kill(pid, SIGQUIT)
        }
        _ = try? server.waitForExit(timeout: .seconds(10))
    }

    /// Runs a command as the `postgres` user when we are root (else as we are).
    private static func asServerUser(_ command: [String], asRoot: Bool = false) throws {
        let root = getuid() == 0
        if asRoot && !root { return }
        let (executable, arguments) = root && !asRoot ? ("/usr/sbin/runuser", ["-u", "postgres", "--"] + command) : (command[0], Array(command.dropFirst()))
        let result = try ChildProcess.run(executable, arguments, timeoutSeconds: 60)
        guard result.status == 0 else {
            throw ChildProcess.Failure(description: "\(command.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
    }
}
