import ArgumentParser

/// `tapedeck replay serve|drive`.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded sessions: be the server for a client under test, or the client of a real server.",
        discussion: """
            Works from Tapedeck's recordings and from captures it did not make (tcpdump, \
            Wireshark; pcap or pcapng; several rotated files given together).

            Examples:
              tapedeck replay serve Recordings/redis.pcap --listen 127.0.0.1:6380
              tapedeck replay drive Recordings/redis.pcap --target 127.0.0.1:6379 --strict
            """,
        subcommands: [ReplayServeCommand.self, ReplayDriveCommand.self, ReplayMergeReportsCommand.self]
    )
}
