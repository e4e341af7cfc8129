import ArgumentParser
import ControlAPI
import Foundation

/// `tapedeck ctl record start NAME --path FILE | --per-session DIR`.
struct CtlRecordStartCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start recording the sessions a proxy opens from now on.",
        discussion: """
            Prints the recording's state as JSON. Fails with 409 when the proxy records already.
            """
    )
    @OptionGroup var connection: CtlConnection
    @Option(name: [.customShort("w"), .customLong("path")], help: ArgumentHelp("Write every session to this new pcap file (and its manifest FILE.json): a name inside the server's --recordings-dir.", valueName: "name"))
    var path: String?
    @Option(help: ArgumentHelp("Write one pcap per session into this new folder of the server's --recordings-dir instead.", valueName: "name"))
    var perSession: String?
    @Option(name: [.customShort("C"), .customLong("rotate-size")], help: ArgumentHelp("Rotate the file at this size (a bare number means millions of bytes, as in tcpdump; or 512KiB, 100MB).", valueName: "size"), transform: SizeArgument.option("--rotate-size", bareUnit: 1_000_000, minimum: 1))
    var rotateSize: SizeArgument?
    @Option(name: [.customShort("G"), .customLong("rotate-interval")], help: ArgumentHelp("Rotate the file when it has been open this long (30s, 5m, 1h).", valueName: "duration"), transform: DurationArgument.option("--rotate-interval", positive: true))
    var rotateInterval: DurationArgument?
    @Option(name: [.customShort("W"), .customLong("ring")], help: ArgumentHelp("With rotation: keep only the newest N files.", valueName: "count"))
    var ring: Int?
    @Option(help: ArgumentHelp("Mask matches of this regular expression with '*' in the recording (repeatable).", valueName: "regex"))
    var redact: [String] = []
    @Option(help: ArgumentHelp("When the disk falls behind: backpressure (lossless) or drop (the recording shows a gap).", valueName: "policy"))
    var onBacklog: String?
    @Flag(help: "Replace an earlier recording at --path (with rotation: every file of its set).")
    var overwrite = false
    @Argument(help: "The proxy to record.")
    var name: String

    func validate() throws {
        switch (path, perSession) {
        case (nil, nil): throw ValidationError("say where to record: --path FILE or --per-session DIR")
        case (.some, .some): throw ValidationError("--path and --per-session exclude each other")
        default: break
        }
    }

    func run(with client: ControlClient) async throws {
        var request = RecordingRequest()
        request.path = path
        request.perSessionDirectory = perSession
        request.rotateBytes = rotateSize.map { Int($0.bytes) }
        request.rotateSeconds = rotateInterval.map { Double($0.duration.components.seconds) + Double($0.duration.components.attoseconds) / 1e18 }
        request.ringSize = ring
        request.redact = redact
        request.onBacklog = onBacklog
        request.overwrite = overwrite
        try CtlCommand.printJSON(try await client.startRecording(request, on: name))
    }
}
