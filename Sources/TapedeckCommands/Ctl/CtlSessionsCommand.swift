import ArgumentParser

/// `tapedeck ctl sessions NAME`: a proxy's live sessions, one a line, or as JSON.
struct CtlSessionsCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List a proxy's live sessions: client, upstream, when opened, bytes each way (Tapedeck only).",
        discussion: """
            C→S counts bytes from the client to the upstream, S→C the other way; \
            RECORDING says whether the session is being written to the proxy's recording.
            """
    )
    @OptionGroup var connection: CtlConnection
    @Flag(help: "Print the sessions as JSON, as GET /proxies/NAME/sessions returns them.")
    var json = false
    @Argument var name: String

    func run(with client: ControlClient) async throws {
        let sessions = try await client.sessions(of: name)
        if json {
            try CtlCommand.printJSON(sessions)
            return
        }
        print("ID\tCLIENT\tUPSTREAM\tOPENED\tC→S\tS→C\tRECORDING")
        for session in sessions {
            let fields = [
                String(session.id), session.client, session.upstream, session.opened,
                String(session.bytesClientToServer), String(session.bytesServerToClient), String(session.recording),
            ]
            print(fields.joined(separator: "\t"))
        }
    }
}
