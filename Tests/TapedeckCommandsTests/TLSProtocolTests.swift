import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real Redis and PostgreSQL clients speaking TLS through `tapedeck` to
/// real servers speaking TLS: `redis-cli --tls` to `redis-server
/// --tls-port`, and `psql sslmode=require` through PostgreSQL's SSLRequest
/// (`--postgres-tls`) to a server with `ssl=on`. The recordings hold the
/// plaintext protocol.
///
/// psql through a TLS-terminating proxy needs `channel_binding=disable`:
/// SCRAM's channel binding exists to detect exactly such a proxy (it binds
/// the login to the server's certificate, which the client never sees).
@Suite(.serialized) struct TLSProtocolTests {
    /// `tapedeck ca init` into `directory`, and the exported certificate's path.
    static func makeCA(in directory: TemporaryDirectory) throws -> (directory: String, exported: String) {
        let caDirectory = directory.file("ca")
        let made = try TapedeckBinary.run(["ca", "init", caDirectory])
        guard made.status == 0 else { throw ChildProcess.Failure(description: "ca init: \(made.standardError)") }
        let exported = try TapedeckBinary.run(["ca", "export", caDirectory])
        let path = directory.file("tapedeck-ca.pem")
        try exported.standardOutput.write(to: URL(fileURLWithPath: path))
        return (caDirectory, path)
    }

    @Test(.enabled(if: RedisServer.isInstalled))
    func redisCLIWithTLSThroughTheProxySetsAndGets() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory, name: "redis")
        let redis = try RedisServer(directory: directory.path, tls: certificates)
        defer { redis.stop() }
        let ca = try Self.makeCA(in: directory)
        let recording = directory.file("redis.pcap")
        let (proxy, listen) = try TapedeckProcess.proxy([
            "record", "--listen", "127.0.0.1:0", "--tls-ca", ca.directory,
            "--upstream", "127.0.0.1:\(redis.port)", "--upstream-tls", "--upstream-ca", certificates.caFile,
            "-w", recording, "--quiet",
        ])
        let port = try #require(listen.port)
        let cli = ["--tls", "--cacert", ca.exported, "-h", "127.0.0.1", "-p", "\(port)"]
        #expect(try RedisServer.cli(cli + ["SET", "greeting", "over TLS"]) == "OK")
        #expect(try RedisServer.cli(cli + ["GET", "greeting"]) == "over TLS")
        // Straight to the server, past the proxy: the value is there.
        #expect(try RedisServer.cli(["--tls", "--cacert", certificates.caFile, "-h", "127.0.0.1", "-p", "\(redis.port)", "GET", "greeting"]) == "over TLS")
        proxy.stop()

        let streams = try TShark.followEveryStream(recording)
        #expect(streams.count == 2)
        let sent = streams.flatMap(\.sent).map { String(decoding: $0, as: UTF8.self) }.joined()
        #expect(sent.contains("*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$8\r\nover TLS\r\n"))
        #expect(sent.contains("+OK\r\n"))
        #expect(sent.contains("$8\r\nover TLS\r\n"))
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: recording))))
        #expect(manifest.sessions.allSatisfy { $0.tls?.client?.version != nil && $0.tls?.upstream?.version != nil })
    }

    @Test(.enabled(if: PostgresServer.isInstalled))
    func psqlWithSSLModeRequireThroughPostgresTLS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory, name: "pg")
        let server = try PostgresServer(directory: directory.file("pg"), tls: certificates)
        defer { server.stop() }
        let ca = try Self.makeCA(in: directory)
        let (proxy, listen) = try TapedeckProcess.proxy([
            "proxy", "--listen", "127.0.0.1:0", "--postgres-tls", "--tls-ca", ca.directory,
            "--upstream", "127.0.0.1:\(server.port)", "--upstream-tls", "--upstream-ca", certificates.caFile, "--quiet",
        ])
        defer { proxy.stop() }
        let port = try #require(listen.port)
        let query = "select 'over ' || 'TLS', ssl from pg_stat_ssl where pid = pg_backend_pid()"
        let answer = try PostgresServer.psql(
            ["host=127.0.0.1 port=\(port) user=postgres dbname=postgres sslmode=verify-full sslrootcert=\(ca.exported) channel_binding=disable", "-c", query],
            password: server.password
        )
        #expect(answer == "over TLS|t", "psql verified the proxy's certificate, and the server saw TLS from the proxy")
    }

    @Test(.enabled(if: PostgresServer.isInstalled))
    func recordingOfPsqlOverTLSHoldsTheSQL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory, name: "pg")
        let server = try PostgresServer(directory: directory.file("pg"), tls: certificates)
        defer { server.stop() }
        let ca = try Self.makeCA(in: directory)
        let recording = directory.file("pg.pcap")
        let (proxy, listen) = try TapedeckProcess.proxy([
            "record", "--listen", "127.0.0.1:0", "--postgres-tls", "--tls-ca", ca.directory,
            "--upstream", "127.0.0.1:\(server.port)", "--upstream-tls", "--upstream-ca", certificates.caFile,
            "-w", recording, "--quiet",
        ])
        let port = try #require(listen.port)
        let answer = try PostgresServer.psql(
            ["host=127.0.0.1 port=\(port) user=postgres dbname=postgres sslmode=require channel_binding=disable", "-c", "select 40 + 2 as answer"],
            password: server.password
        )
        #expect(answer == "42")
        proxy.stop()

        let queries = try TShark.run(["-r", recording, "-d", "tcp.port==\(server.port),pgsql", "-Y", "pgsql.query", "-T", "fields", "-e", "pgsql.query"])
        #expect(queries.contains("select 40 + 2 as answer"))
        #expect(try TShark.run(["-r", recording, "-Y", "tls"]).isEmpty)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Manifest.path(forRecording: recording))))
        let tls = try #require(manifest.sessions.first?.tls)
        #expect(tls.client?.version == "TLSv1.3")
        #expect(tls.upstream?.peerCertificates?.first?.contains("CN=localhost") == true)

        // replay serve answers psql over TLS, verified against the exported CA.
        let (served, servedAt) = try TapedeckProcess.proxy([
            "replay", "serve", recording, "--listen", "127.0.0.1:0", "--postgres-tls", "--tls-ca", ca.directory,
        ])
        defer { served.stop() }
        let replayed = try PostgresServer.psql(
            ["host=127.0.0.1 port=\(servedAt.port ?? 0) user=postgres dbname=postgres sslmode=verify-full sslrootcert=\(ca.exported)", "-c", "select 40 + 2 as answer"],
            password: "not the recorded one"
        )
        #expect(replayed == "42")
    }
}
