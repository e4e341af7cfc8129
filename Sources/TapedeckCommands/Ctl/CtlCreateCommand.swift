import ArgumentParser
import ControlAPI

/// `tapedeck ctl create NAME --upstream ENDPOINT`: prints the new proxy as JSON.
struct CtlCreateCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a proxy.", aliases: ["c", "new"])
    @OptionGroup var connection: CtlConnection
    @Option(name: .shortAndLong, help: "HOST:PORT or unix:/path to listen on (default 127.0.0.1:0).")
    var listen: String = "127.0.0.1:0"
    @Option(name: .shortAndLong, help: "HOST:PORT or unix:/path to forward to.")
    var upstream: String
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        let proxy = try await client.createProxy(ProxyDefinition(name: name, listen: listen, upstream: upstream))
        try CtlCommand.printJSON(proxy)
    }
}
