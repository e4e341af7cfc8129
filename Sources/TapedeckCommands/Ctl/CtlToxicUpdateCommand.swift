import ArgumentParser

/// `tapedeck ctl toxic update NAME --toxic-name TOXIC`: prints the changed toxic.
struct CtlToxicUpdateCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a toxic's attributes or toxicity.", aliases: ["u"])
    @OptionGroup var connection: CtlConnection
    @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "The toxic to change.")
    var toxicName: String
    @OptionGroup var values: ToxicValueOptions
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        let patch = try values.patch()
        try CtlCommand.printJSON(try await client.updateToxic(toxicName, of: name, with: patch))
    }
}
