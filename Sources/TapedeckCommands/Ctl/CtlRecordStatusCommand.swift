import ArgumentParser

/// `tapedeck ctl record status NAME`: the recording's state as JSON.
struct CtlRecordStatusCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether a proxy records, where, and how much so far.")
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        try CtlCommand.printJSON(try await client.recording(of: name))
    }
}
