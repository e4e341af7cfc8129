import ArgumentParser

/// `tapedeck ctl record status NAME`: the recording's state as JSON.
struct CtlRecordStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether a proxy records, where, and how much so far.")
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run() async throws {
        try await reportingFailures {
            try CtlCommand.printJSON(try await connection.client.recording(of: name))
        }
    }
}
