import ArgumentParser
import Recording

/// The `tapedeck` command line.
@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
public struct Tapedeck: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tapedeck",
        abstract: "Record, fault-inject and replay TCP and Unix-socket sessions as pcap.",
        version: TapedeckVersion.current,
        subcommands: [RecordCommand.self, ProxyCommand.self, InspectCommand.self, ReportCommand.self, ConvertCommand.self, ReplayCommand.self, NoiseCommand.self, SampleServerCommand.self, ServerCommand.self, CtlCommand.self, CACommand.self]
    )

    public init() {}

    /// Runs the command line as ArgumentParser's `main` does, except that an
    /// option value Tapedeck cannot use ends it with one line naming the
    /// option and its range (`tapedeck: --latency 1e19ns is out of range: …`)
    /// and exit status 2.
    public static func main(_ arguments: [String]?) async {
        do {
            var command = try await asyncParseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            // Output that never reached standard output is a failure, not
            // a quiet exit 0 (`tapedeck inspect … > /dev/full`).
            try StandardOutput.flush()
        } catch let failure as StandardOutput.Failure {
            printError(failure.description)
            exit(withError: ExitCode(2))
        } catch {
            // A command that failed may have left output unwritten too: said, its status kept.
            do {
                try StandardOutput.flush()
            } catch {
                printError("\(error)")
            }
            if let valueError = OptionValueError.thrown(in: error) {
                printError(valueError.description)
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
