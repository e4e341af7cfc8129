import ArgumentParser
import PcapFile
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// `tapedeck record`: the proxy, writing every session to pcap.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Proxy clients to an upstream and record every session to pcap.",
        discussion: """
            Every byte is forwarded both ways, with back-pressure and half-close intact, \
            and written as a clean TCP flow that Wireshark opens (Unix sockets get stable \
            synthetic addresses; the manifest FILE.json names them). Files are created \
            with mode 0600, once every listener is bound; an earlier recording at -w is \
            refused unless --overwrite. SIGINT/SIGTERM stop accepting, give live sessions \
            --grace to finish, and close every file; a SIGKILL loses at most the last 100 ms.

            When the disk fails (full, I/O error), the file is cut back to its last whole \
            record and recording stops while the proxy goes on forwarding (with -W, the \
            oldest file is freed and recording goes on in a new one); the exit status is \
            then 3.

            Examples:
              tapedeck record --listen :6380 --upstream :6379 -w redis.pcap
              tapedeck record --listen unix:/run/app.sock --upstream :5432 \\
                --per-session pg/
              tapedeck record --listen :8080 --upstream unix:/run/app.sock \\
                -w app.pcap -C 100MB -W 10
              tapedeck record --listen :6380 --upstream :6379 -w slow.pcap \\
                --latency 100ms --jitter 20ms --stream downstream --seed 7
            """
    )

    @OptionGroup var proxy: ProxyOptions
    @OptionGroup var recording: RecordingOptions

    @Flag(name: .customLong("no-splice"), help: "Keep every session on NIO. By default (Linux), a session that no fault and no TLS needs to see leaves NIO once it has moved 256KiB or made 64 reads, or sat idle for a second: a splice thread then reads each chunk into a buffer the recording keeps and writes it on, with no channel pipeline between.")
    var noSplice = false

    func run() async throws {
        try await reportingFailures {
            // A reader of -w - (or of a FIFO) that goes away ends the recording, not the proxy.
            if let file = recording.file, file == "-" || PcapWriter.isStream(file) { signal(SIGPIPE, SIG_IGN) }
            let properties = ["upstream": proxy.upstream.description, "listen": proxy.listeners.map(\.description).joined(separator: " ")]
            try await ProxyRunner(options: proxy, recording: recording.configuration(properties: properties), splice: !noSplice).run()
        }
    }
}
