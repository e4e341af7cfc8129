import ArgumentParser

/// `tapedeck ctl inspect NAME`: one proxy as JSON.
struct CtlInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one proxy and its toxics as JSON.", aliases: ["i"])
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run() async throws {
        try await reportingFailures {
            try CtlCommand.printJSON(try await connection.client.proxy(name))
        }
    }
}
