import ArgumentParser

/// `tapedeck ctl record stop NAME`: prints the finished recording as JSON.
struct CtlRecordStopCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop recording a proxy: close the file and its manifest, print what it holds.",
        discussion: """
            Prints the finished recording as JSON: its path, the sessions it holds, the bytes \
            written (pcap headers included) and the payload each way.
            """
    )
    @OptionGroup var connection: CtlConnection
    @Argument(help: "The proxy whose recording to stop.")
    var name: String

    func run(with client: ControlClient) async throws {
        try CtlCommand.printJSON(try await client.stopRecording(on: name))
    }
}
