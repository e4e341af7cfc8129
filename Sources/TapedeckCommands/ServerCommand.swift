import ArgumentParser
import ControlAPI
import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Recording
import Sockets
import ServiceLifecycle

/// `tapedeck server`: the Toxiproxy-compatible control API.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Serve the Toxiproxy-compatible HTTP API that creates proxies and adds faults to them.",
        discussion: """
            Toxiproxy clients work unchanged. The config file is a JSON array of proxies as \
            for POST /populate; unlike Toxiproxy's, each may also hold "toxics", and listen \
            and upstream may be unix:/path.

            Beyond Toxiproxy: POST/GET/DELETE /proxies/NAME/recording records a running \
            proxy's new sessions to pcap (see 'tapedeck ctl record --help'), GET \
            /proxies/NAME/sessions lists its live sessions, and GET /metrics serves \
            Prometheus text labelled by proxy.

            Examples:
              tapedeck server
              tapedeck server --api 127.0.0.1:8474 --config proxies.json --seed 7
            """
    )

    @Option(help: ArgumentHelp("Where the API listens: HOST:PORT, :PORT or unix:/path. Loopback by default; any local process may use the API unless --api-token-file is given.", valueName: "endpoint"), transform: parseListener)
    var api: Endpoint = .ip(.loopbackV4, port: 8474)

    @Option(help: ArgumentHelp("A name clients may use in the Host header besides IP addresses and localhost (repeatable). Other names are refused, against DNS rebinding.", valueName: "name"))
    var apiHost: [String] = []

    @Option(help: ArgumentHelp("Require 'Authorization: Bearer TOKEN' on every request, TOKEN being this file's first line ('tapedeck ctl --api-token-file FILE' sends it).", valueName: "file"))
    var apiTokenFile: String?

    @Option(help: ArgumentHelp("Close an API connection that has no request under way for this many seconds.", valueName: "seconds"))
    var apiIdleTimeout: Double = 60

    @Option(help: ArgumentHelp("The folder recordings started through the API go to; their names may not leave it.", valueName: "dir"))
    var recordingsDir: String = "recordings"

    @Option(help: ArgumentHelp("Proxies (and toxics) to create at startup: a JSON array.", valueName: "file"))
    var config: String?

    @Option(parsing: .unconditional, help: "Fixes every random choice of the toxics (toxicity, jitter, drops). Random by default.", transform: unsignedOption("--seed"))
    var seed: UInt64?

    @Flag(name: .customLong("no-splice"), help: "Move every session's bytes through NIO. By default (Linux), a session with no toxic, no recording and no TLS moves its bytes with splice(2), and comes back to NIO when a toxic is added.")
    var noSplice = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard apiIdleTimeout > 0, apiIdleTimeout.isFinite else {
            throw ValidationError("--api-idle-timeout must be a positive number of seconds, not \(apiIdleTimeout)")
        }
    }

    func run() async throws {
        try await reportingFailures {
            try await serve()
        }
    }

    /// The token in `--api-token-file`: its first line, which may not be empty.
    private func token() throws -> String? {
        guard let apiTokenFile else { return nil }
        return try CtlConnection.token(from: apiTokenFile)
    }

    private func serve() async throws {
        let logger = logging.makeLogger(label: "tapedeck")
        let seed = self.seed ?? UInt64.random(in: .min ... .max)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let access = APIAccess(hostNames: Set(apiHost), token: try token())
        let registry = ProxyRegistry(group: group, seed: seed, recordingsDirectory: recordingsDir, splice: !noSplice, logger: logger)
        do {
            if let config {
                try await populate(registry, from: config)
            }
            // Hummingbird's own lines (a bind error among them) are reported here as one line.
            var serverLogger = logger
            serverLogger.logLevel = max(logger.logLevel, .critical)
            let application = ControlServer.application(registry: registry, on: try api.listenable(), access: access, idleTimeout: .milliseconds(Int64(apiIdleTimeout * 1000)), logger: serverLogger) { address in
                logger.info("api listening", metadata: ["api.address": "\(address)", "seed": "\(seed)"])
            }
            // Shutdown runs backwards: the API stops answering, then every proxy stops.
            do {
                try await ServiceGroup.runUntilSignalled([registry, application, ShutdownNotice(logger: logger, grace: nil)], logger: logger)
            } catch {
                throw ProxyError(.listen, "cannot serve the API on \(api): \(PlainReason.of(error))")
            }
        } catch {
            await registry.shutdown(grace: .zero)
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    private func populate(_ registry: ProxyRegistry, from path: String) async throws {
        let definitions = try decodeUserFile(path, named: "config file", failing: { ProxyError(.configuration, $0) }) {
            try ControlRoutes.decode([ProxyDefinition].self, from: $0)
        }
        do {
            _ = try await registry.populate(definitions)
        } catch {
            throw ProxyError(.configuration, "config file \(path): \(error)")
        }
    }
}
