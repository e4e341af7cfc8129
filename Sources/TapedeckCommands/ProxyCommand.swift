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

    @Flag(name: .customLong("no-splice"), help: "Move every session's bytes through NIO. By default (Linux), a session no fault and no TLS needs to see moves its bytes socket to socket with splice(2), outside user space.")
    var noSplice = false

    func run() async throws {
        try await reportingFailures {
            try await ProxyRunner(options: proxy, recording: nil, splice: !noSplice).run()
        }
    }
}
