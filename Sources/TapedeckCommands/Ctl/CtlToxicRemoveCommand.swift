import ArgumentParser

/// `tapedeck ctl toxic remove NAME --toxic-name TOXIC`.
struct CtlToxicRemoveCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a toxic; prints what was removed.", aliases: ["r", "delete", "d"])
    @OptionGroup var connection: CtlConnection
    @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "The toxic to remove.")
    var toxicName: String
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        let removed = try await client.removeToxic(toxicName, from: name)
        print("removed toxic \(removed.name ?? toxicName) (\(removed.type ?? "?"), \(removed.stream ?? "downstream")) from proxy \(name)")
    }
}
