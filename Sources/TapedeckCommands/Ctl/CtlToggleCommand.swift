import ArgumentParser
import ControlAPI

/// `tapedeck ctl toggle NAME`: flips whether a proxy is enabled.
struct CtlToggleCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "toggle", abstract: "Enable a disabled proxy, or disable an enabled one.", aliases: ["tog"])
    @OptionGroup var connection: CtlConnection
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        let enabled = !(try await client.proxy(name).enabled)
        try await client.updateProxy(name, with: ProxyDefinition(enabled: enabled))
        print("\(name) is now \(enabled ? "enabled" : "disabled")")
    }
}
