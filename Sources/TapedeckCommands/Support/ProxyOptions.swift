import ArgumentParser
import Faults
import Proxy
import Recording

/// The options every proxying command shares.
struct ProxyOptions: ParsableArguments {
    @Option(
        name: .customLong("listen"),
        help: ArgumentHelp("Where clients connect: IP:PORT, [IPv6]:PORT, localhost:PORT or :PORT (127.0.0.1), or unix:/path. Repeatable.", valueName: "endpoint"),
        transform: parseListener
    )
    var listeners: [Endpoint] = []

    @Option(help: ArgumentHelp("The service to forward to: HOST:PORT (an IP address or a host name, resolved at start and again when no address answers), [IPv6]:PORT, :PORT or unix:/path.", valueName: "endpoint"), transform: parseEndpoint)
    var upstream: Endpoint

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait for the upstream before resetting the client (default: 5s).", valueName: "duration"), transform: DurationArgument.option("--connect-timeout"))
    var connectTimeout: DurationArgument = DurationArgument(argument: "5s")!

    @Option(help: ArgumentHelp("Permissions of Unix listener sockets, in octal.", valueName: "mode"))
    var socketMode: String = "0600"

    @Option(parsing: .unconditional, help: ArgumentHelp("On SIGINT/SIGTERM, how long live sessions may go on before they are closed (default: 5s).", valueName: "duration"), transform: DurationArgument.option("--grace"))
    var grace: DurationArgument = DurationArgument(argument: "5s")!

    @Flag(help: "No live status line on the terminal.")
    var quiet = false

    @OptionGroup(title: "TLS") var tls: ProxyTLSOptions

    @OptionGroup(title: "Faults") var faults: FaultOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if listeners.isEmpty {
            throw ValidationError("name at least one --listen endpoint")
        }
        guard UInt16(socketMode, radix: 8) != nil else {
            throw ValidationError("--socket-mode \(socketMode) is not an octal mode such as 0660")
        }
    }

    /// The proxy these options describe; `seed` is `--seed` or a random one.
    func configuration(seed: UInt64) throws -> ProxyConfiguration {
        var configuration = ProxyConfiguration(
            listeners: listeners,
            upstream: upstream,
            faults: FaultSettings(faults: try faults.faults(), seed: seed)
        )
        configuration.connectTimeout = connectTimeout.duration
        configuration.socketMode = mode_t(UInt16(socketMode, radix: 8) ?? 0o600)
        configuration.tls = try tls.proxyTLS()
        return configuration
    }
}

#if canImport(Glibc)
import Glibc
#endif
