import ArgumentParser
import Recording

/// The `tapedeck` command line.
@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
public struct Tapedeck: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tapedeck",
        abstract: "Record, fault-inject and replay TCP and Unix-socket sessions as pcap.",
        version: TapedeckVersion.current,
        subcommands: [RecordCommand.self, ProxyCommand.self, InspectCommand.self, ConvertCommand.self, ReplayCommand.self, SampleServerCommand.self, ServerCommand.self, CtlCommand.self]
    )

    public init() {}
}
