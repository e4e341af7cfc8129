import Foundation
import Recording
import Replay
import TapedeckTestSupport
import TapedeckTesting
import Testing

/// `--match request` against real PostgreSQL (Debian's, started here,
/// scram-sha-256 passwords): psql and pgbench recorded through a
/// recording proxy, PostgreSQL stopped, then served to psql with another
/// password and statements in another order, and to pgbench with random ids.
@Suite(.enabled(if: PostgresServer.isInstalled), .serialized)
struct PostgresMatchingTests {
    static let userPassword = "recorded-secret"

    /// A cluster with user `tapedeck` owning database `shop` with three users,
    /// and pgbench's tables; psql sessions and a short pgbench recorded through a proxy.
    static func record(in directory: TemporaryDirectory) async throws -> String {
        let postgres = try PostgresServer(directory: directory.file("pg"))
        defer { postgres.stop() }
        _ = try postgres.psql(["-c", "CREATE USER tapedeck PASSWORD '\(userPassword)'", "-c", "CREATE DATABASE shop OWNER tapedeck"])
        _ = try postgres.psql(["-c", "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'alice'), (2, 'bob'), (3, 'carol')"], user: "tapedeck", password: userPassword, database: "shop")
        let bench = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(userPassword)", "/usr/bin/pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", "\(postgres.port)", "-U", "tapedeck", "shop"], timeoutSeconds: 120)
        #expect(bench.status == 0, "pgbench -i: \(bench.standardError)")

        let path = directory.file("postgres.pcap")
        let proxy = try await FaultProxy.start(upstream: postgres.endpoint, recordTo: path)
        let port = try #require(proxy.endpoint.port)
        for id in 1...3 {
            let name = try PostgresServer.psql(["-h", "127.0.0.1", "-p", "\(port)", "-U", "tapedeck", "-d", "shop", "-c", "SELECT name FROM users WHERE id = \(id)"], password: userPassword)
            #expect(name == ["alice", "bob", "carol"][id - 1])
        }
        let run = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(userPassword)", "/usr/bin/pgbench", "-n", "-t", "25", "-c", "2", "-h", "127.0.0.1", "-p", "\(port)", "-U", "tapedeck", "shop"], timeoutSeconds: 120)
        #expect(run.status == 0, "pgbench: \(run.standardError)")
        await proxy.stop()
        return path
    }

    @Test func psqlWithAnotherPasswordGetsTheRecordedRowsInAnotherOrderAndAnErrorForTheUnrecorded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)

        // PostgreSQL is stopped: every answer comes from the recording, over TCP and a Unix socket.
        let socketDirectory = directory.file("mock")
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        for listen in [TestListener.loopback, .endpoint(.unix(path: socketDirectory + "/.s.PGSQL.5432"))] {
            let server = try await MockServer.start(recording: recording, listen: listen)
            let target: [String] = switch server.endpoint {
            case .ip(_, let port), .host(_, let port): ["-h", "127.0.0.1", "-p", "\(port)"]
            case .unix: ["-h", socketDirectory, "-p", "5432"]
            }
            for id in [3, 2, 1] {
                let name = try PostgresServer.psql(target + ["-U", "tapedeck", "-d", "shop", "-c", "SELECT name FROM users WHERE id = \(id)"], password: "another password")
                #expect(name == ["alice", "bob", "carol"][id - 1])
            }
            let unrecorded = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=x", "/usr/bin/psql", "-X", "-A", "-t"] + target + ["-U", "tapedeck", "-d", "shop", "-c", "SELECT name FROM users WHERE id = 9"], timeoutSeconds: 30)
            #expect(unrecorded.status != 0)
            #expect(unrecorded.standardError.contains("ERROR:  tapedeck: no recorded answer for SELECT name FROM users WHERE id = 9; nearest recorded: SELECT name FROM users WHERE id = 1 (literals differ)"))
            // A statement like none recorded is shown the nearest statement, not a login.
            let unlike = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=x", "/usr/bin/psql", "-X", "-A", "-t"] + target + ["-U", "tapedeck", "-d", "shop", "-c", "delete from users"], timeoutSeconds: 30)
            #expect(unlike.status != 0)
            #expect(unlike.standardError.contains("no recorded answer for delete from users; nearest recorded: "), "\(unlike.standardError)")
            #expect(!unlike.standardError.contains("nearest recorded: startup"), "\(unlike.standardError)")
            let report = await server.stop()
            #expect(report.match?.protocolName == "postgres")
            #expect(report.match?.unmatchedCount == 2)
        }
    }

    @Test func pgbenchWithRandomIdsCompletesEveryTransactionWithNearestAnswers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = try await Self.record(in: directory)

        let server = try await MockServer.start(recording: recording, answering: .requests(RequestMatching(onUnmatched: .nearest)))
        let port = try #require(server.endpoint.port)
        let run = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=wrong", "/usr/bin/pgbench", "-n", "-t", "200", "-c", "4", "-h", "127.0.0.1", "-p", "\(port)", "-U", "tapedeck", "shop"], timeoutSeconds: 120)
        let output = String(decoding: run.standardOutput, as: UTF8.self)
        #expect(run.status == 0, "pgbench: \(run.standardError)")
        #expect(output.contains("number of transactions actually processed: 800/800"), "\(output)")
        let report = await server.stop()
        let match = try #require(report.match)
        #expect(match.unmatchedCount == 0)
        #expect(match.answered["nearest", default: 0] > 0)
    }

    /// pgbench `-M prepared` recorded, then served to two pgbench clients
    /// running the statements in another order: every transaction gets the
    /// answer of the right shape, a Parse alone its ParseComplete and a
    /// Bind and Execute their rows (they shared one key, and a client got
    /// rows where it waited for ParseComplete). `-M extended`, whose
    /// messages the recording never held, is told so, not sent a wrong-shaped answer.
    @Test func preparedStatementsGetAnswersOfTheirOwnShape() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let postgres = try PostgresServer(directory: directory.file("pg"))
        defer { postgres.stop() }
        let initialized = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(postgres.password)", "/usr/bin/pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", "\(postgres.port)", "-U", "postgres", "postgres"], timeoutSeconds: 120)
        #expect(initialized.status == 0, "pgbench -i: \(initialized.standardError)")
        let forward = directory.file("forward.sql"), backward = directory.file("backward.sql")
        try "\\set aid 7\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\nSELECT count(*) FROM pgbench_branches;\n".write(toFile: forward, atomically: true, encoding: .utf8)
        try "SELECT count(*) FROM pgbench_branches;\n\\set aid 7\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n".write(toFile: backward, atomically: true, encoding: .utf8)
        let recording = directory.file("prepared.pcap")
        let proxy = try await FaultProxy.start(upstream: postgres.endpoint, recordTo: recording)
        let recorded = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(postgres.password)", "/usr/bin/pgbench", "-n", "-M", "prepared", "-f", forward, "-t", "3", "-c", "1", "-h", "127.0.0.1", "-p", "\(try #require(proxy.endpoint.port))", "-U", "postgres", "postgres"], timeoutSeconds: 60)
        #expect(recorded.status == 0, "pgbench: \(recorded.standardError)")
        await proxy.stop()
        postgres.stop()

        let server = try await MockServer.start(recording: recording)
        let port = try #require(server.endpoint.port)
        for script in [forward, backward] {
            let run = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(postgres.password)", "/usr/bin/pgbench", "-n", "-M", "prepared", "-f", script, "-t", "3", "-c", "2", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "postgres"], timeoutSeconds: 60)
            let output = String(decoding: run.standardOutput, as: UTF8.self)
            #expect(run.status == 0, "pgbench -f \(script): \(run.standardError)")
            #expect(output.contains("number of transactions actually processed: 6/6"), "\(output)\(run.standardError)")
        }
        let extended = try ChildProcess.run("/usr/bin/env", ["PGPASSWORD=\(postgres.password)", "/usr/bin/pgbench", "-n", "-M", "extended", "-f", backward, "-t", "1", "-c", "1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "postgres"], timeoutSeconds: 60)
        #expect(extended.status != 0)
        #expect(extended.standardError.contains("(messages P B D E S, recorded P S)"), "\(extended.standardError)")
        #expect(!extended.standardError.contains("no results"), "\(extended.standardError)")
        let report = await server.stop()
        #expect(report.match?.unmatchedCount == 1)
    }
}
