import ArgumentParser
import Foundation
import Logging
import Recording
import SampleServer
import ServiceLifecycle

/// `tapedeck sample-server`: a built-in upstream for demos and tests.
struct SampleServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-server",
        abstract: "Run a built-in echo server (an upstream for trying Tapedeck without a real service).",
        shouldDisplay: false
    )

    @Option(help: ArgumentHelp("Where to listen: HOST:PORT, :PORT or unix:/path.", valueName: "endpoint"), transform: parseListener)
    var listen: Endpoint

    func run() async throws {
        try await reportingFailures {
            let server = try await EchoServer.start(on: listen)
            try await ServiceGroup.runUntilSignalled([SampleServerService(server: server)], logger: Logger(label: "tapedeck"))
        }
    }
}

/// The echo server until SIGINT or SIGTERM. It says where it listens once
/// the group catches those signals, so one sent right after the line stops
/// it cleanly.
private struct SampleServerService: Service {
    let server: EchoServer

    func run() async throws {
        // Unbuffered, so a script reading the port sees it at once.
        try StandardOutput.line("echo server listening on \(server.endpoint)")
        try StandardOutput.flush()
        try? await gracefulShutdown()
        await server.stop()
    }
}
