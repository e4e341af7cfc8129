import ArgumentParser

/// `tapedeck ctl inspect NAME`: one proxy as JSON.
struct CtlInspectCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one proxy and its toxics as JSON.", aliases: ["i"])
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        try CtlCommand.printJSON(try await client.proxy(name))
    }
}
