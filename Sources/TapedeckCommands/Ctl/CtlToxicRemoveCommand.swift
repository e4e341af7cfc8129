import ArgumentParser

/// `tapedeck ctl toxic remove NAME --toxic-name TOXIC`.
struct CtlToxicRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a toxic.", aliases: ["r", "delete", "d"])
    @OptionGroup var connection: CtlConnection
    @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "The toxic to remove.")
    var toxicName: String
    @Argument var name: String

    func run() async throws {
        try await reportingFailures {
            try await connection.client.removeToxic(toxicName, from: name)
        }
    }
}
