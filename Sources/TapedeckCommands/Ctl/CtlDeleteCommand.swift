import ArgumentParser

/// `tapedeck ctl delete NAME`.
struct CtlDeleteCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a proxy.", aliases: ["d"])
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        try await client.deleteProxy(name)
    }
}
