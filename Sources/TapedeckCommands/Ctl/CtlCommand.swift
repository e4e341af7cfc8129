import ArgumentParser
import Foundation
import Recording

/// `tapedeck ctl`: a command-line client for the control API (and for
/// Toxiproxy itself), like `toxiproxy-cli`.
struct CtlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Manage the proxies and toxics of a running tapedeck server (or Toxiproxy).",
        discussion: """
            Examples:
              tapedeck ctl create redis --listen 127.0.0.1:26379 --upstream 127.0.0.1:6379
              tapedeck ctl toxic add redis --type latency --attribute latency=100 --attribute jitter=10
              tapedeck ctl toggle redis
              tapedeck ctl record start redis --path redis.pcap
              tapedeck ctl sessions redis
              tapedeck ctl record stop redis
            """,
        subcommands: [
            CtlListCommand.self, CtlInspectCommand.self, CtlCreateCommand.self, CtlToggleCommand.self,
            CtlDeleteCommand.self, CtlToxicCommand.self, CtlRecordCommand.self, CtlSessionsCommand.self,
        ]
    )

    /// Lets `--host` come before the subcommand; the subcommands' own
    /// `connection` is this same value.
    @OptionGroup var connection: CtlConnection

    /// Prints an answer as JSON, indented, keys sorted.
    static func printJSON(_ value: some Encodable) throws {
        print(String(decoding: try PrettyJSON.encoder.encode(value), as: UTF8.self))
    }
}
