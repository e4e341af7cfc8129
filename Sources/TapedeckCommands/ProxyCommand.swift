import ArgumentParser

/// `tapedeck proxy`: the same proxy, recording nothing.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Proxy clients to an upstream over TCP or Unix sockets, recording nothing.",
        discussion: """
            Examples:
              tapedeck proxy --listen :6380 --upstream :6379
              tapedeck proxy --listen unix:/tmp/redis.sock --listen [::1]:6380 --upstream 127.0.0.1:6379
            """
    )

    @OptionGroup var proxy: ProxyOptions

    @Flag(name: .customLong("no-splice"), help: "Move every session's bytes through NIO. By default (Linux), a session that no fault and no TLS needs to see leaves NIO once it has moved --splice-after bytes or made 64 reads: a stream then moves socket to socket with splice(2), small reads with one read and one write a hop.")
    var noSplice = false

    @Option(name: .customLong("splice-after"), parsing: .unconditional, help: ArgumentHelp("Splice a session once it has moved this much on NIO, both ways together, or made 64 reads (default 256KiB; 0: from its first byte). Short sessions never pay for the move.", valueName: "size"), transform: SizeArgument.option("--splice-after"))
    var spliceAfter: SizeArgument?

    func run() async throws {
        try await reportingFailures {
            try await ProxyRunner(options: proxy, recording: nil, splice: !noSplice, spliceAfterBytes: spliceAfter.map { Int($0.bytes) }).run()
        }
    }
}
