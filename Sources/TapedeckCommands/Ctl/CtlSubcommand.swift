import ArgumentParser

/// A `ctl` subcommand: it holds the connection flags and does its work with
/// a client of the API; a failure is printed as one line and exits 2.
protocol CtlSubcommand: AsyncParsableCommand {
    var connection: CtlConnection { get }

    /// The subcommand's work, given a client of the API `connection` names.
    func run(with client: ControlClient) async throws
}

extension CtlSubcommand {
    func run() async throws {
        try await reportingFailures {
            try await run(with: connection.client)
        }
    }
}
