import ArgumentParser
import Faults

/// `tapedeck ctl toxic add NAME --type TYPE`: prints the toxic as the server made it.
struct CtlToxicAddCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a toxic to a proxy.", aliases: ["a"])
    @OptionGroup var connection: CtlConnection
    @Option(name: .shortAndLong, help: "latency, bandwidth, slicer, limit_data, drop, reset_peer, timeout, slow_close…")
    var type: String
    @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "Default: TYPE_STREAM.")
    var toxicName: String?
    @Flag(name: .customLong("upstream"), help: "Act on client → server bytes.")
    var upstream = false
    @Flag(name: .customLong("downstream"), help: "Act on server → client bytes (the default).")
    var downstream = false
    @OptionGroup var values: ToxicValueOptions
    @Argument var name: String

    func validate() throws {
        if upstream && downstream { throw ValidationError("--upstream and --downstream are exclusive") }
    }

    func run(with client: ControlClient) async throws {
        // The server fills in the defaults and checks the values, in its own words.
        let toxic = FaultDefinition(
            name: toxicName,
            type: type,
            stream: (upstream ? FaultStream.upstream : .downstream).rawValue,
            toxicity: values.toxicity,
            attributes: try values.parsedAttributes()
        )
        try CtlCommand.printJSON(try await client.addToxic(toxic, to: name))
    }
}
