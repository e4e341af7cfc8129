import ArgumentParser
import Recording

/// The `tapedeck` command line.
public struct Tapedeck: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tapedeck",
        abstract: "Record, fault-inject and replay TCP and Unix-socket sessions as pcap.",
        version: TapedeckVersion.current,
        subcommands: [InspectCommand.self, ConvertCommand.self]
    )

    public init() {}
}
