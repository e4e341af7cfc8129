import ArgumentParser

/// `tapedeck ctl record start|stop|status`.
struct CtlRecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record a running proxy's sessions to pcap, without restarting it (Tapedeck only).",
        discussion: """
            Sessions opened after 'record start' are written to the file, as 'tapedeck record' \
            writes them; 'record stop' closes the file and its manifest FILE.json and says \
            how many sessions and bytes it holds. Sessions still live at the stop are kept up \
            to that moment and marked open. The server writes the file: a relative path is \
            made absolute from this shell's directory, so it means the same when the server \
            runs on this machine.

            Examples:
              tapedeck ctl record start redis --path /tmp/redis.pcap
              tapedeck ctl record start redis -w redis.pcap -C 100MB -W 5
              tapedeck ctl record start redis --per-session captures/ --redact 'AUTH \\S+'
              tapedeck ctl record status redis
              tapedeck ctl record stop redis
            """,
        subcommands: [CtlRecordStartCommand.self, CtlRecordStopCommand.self, CtlRecordStatusCommand.self]
    )
}
