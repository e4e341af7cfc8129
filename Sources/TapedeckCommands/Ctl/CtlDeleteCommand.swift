import ArgumentParser

/// `tapedeck ctl delete NAME`.
struct CtlDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a proxy.", aliases: ["d"])
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run() async throws {
        try await reportingFailures {
            try await connection.client.deleteProxy(name)
        }
    }
}
