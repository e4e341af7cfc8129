import ArgumentParser
import Proxy
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// Where and how `tapedeck record` writes, named as tcpdump names them.
struct RecordingOptions: ParsableArguments {
    @Option(name: .customShort("w"), help: ArgumentHelp("Write all sessions to this pcap file (and its manifest FILE.json); - writes the pcap to standard output.", valueName: "file"))
    var file: String?

    @Option(help: ArgumentHelp("With -w -: write the manifest to this file (without it, none is written).", valueName: "file"))
    var manifest: String?

    @Option(help: ArgumentHelp("Write one self-contained pcap per session into this directory.", valueName: "dir"))
    var perSession: String?

    @Option(name: .customShort("C"), parsing: .unconditional, help: ArgumentHelp("Rotate when a file reaches this size (a bare number means millions of bytes, as in tcpdump; or 512KiB, 100MB).", valueName: "size"), transform: SizeArgument.option("-C", bareUnit: 1_000_000, minimum: 1))
    var rotateSize: SizeArgument?

    @Option(name: .customShort("G"), parsing: .unconditional, help: ArgumentHelp("Rotate when a file has been open this long (30s, 5m, 1h).", valueName: "duration"), transform: DurationArgument.option("-G", positive: true))
    var rotateInterval: DurationArgument?

    @Option(name: .customShort("W"), parsing: .unconditional, help: ArgumentHelp("With -C or -G: keep only the newest N files.", valueName: "count"))
    var ringSize: Int?

    @Option(name: .customShort("z"), help: ArgumentHelp("Run COMMAND FILE for every finished file (e.g. gzip, an upload).", valueName: "command"))
    var postRotateCommand: String?

    @Option(help: ArgumentHelp("Mask bytes matching this regular expression (PCRE) in the recording with the same number of '*'; repeatable, every pattern applies. A match split across reads is masked up to 4 KiB long.", valueName: "regex"))
    var redact: [String] = []

    @Option(help: ArgumentHelp("When the disk falls behind: backpressure (lossless, slows traffic) or drop (traffic untouched, the recording shows a gap).", valueName: "policy"))
    var onBacklog: RecorderConfiguration.BacklogPolicy = .backpressure

    @Option(parsing: .unconditional, help: ArgumentHelp("Server port written for Unix sockets whose path names none.", valueName: "port"), transform: unsignedOption("--unix-port"))
    var unixPort: UInt16 = SyntheticAddressing.defaultUnixPort

    @Flag(help: "Replace an existing recording at -w (with -C/-G: every file of its set).")
    var overwrite = false

    func validate() throws {
        switch (file, perSession) {
        case (nil, nil): throw ValidationError("say where to record: -w FILE or --per-session DIR")
        case (.some, .some): throw ValidationError("-w and --per-session exclude each other")
        default: break
        }
        if perSession != nil, rotateSize != nil || rotateInterval != nil {
            throw ValidationError("-C and -G rotate a -w file; --per-session already writes one file per session")
        }
        if file == "-" {
            if rotateSize != nil || rotateInterval != nil || postRotateCommand != nil {
                throw ValidationError("-w - writes one stream to standard output: -C, -G and -z need a file")
            }
            if isatty(STDOUT_FILENO) != 0 {
                throw ValidationError("-w - writes binary pcap and standard output is a terminal: pipe it into a reader (| tshark -r -, | wireshark -k -i -) or redirect it to a file")
            }
        } else if manifest != nil {
            throw ValidationError("--manifest goes with -w - (the manifest of -w FILE is FILE.json)")
        }
        if let ringSize {
            guard ringSize > 0 else { throw ValidationError("-W needs a positive number of files") }
            guard rotateSize != nil || rotateInterval != nil else { throw ValidationError("-W keeps a ring of rotated files: add -C or -G") }
        }
    }

    func configuration(properties: [String: String]) -> RecorderConfiguration {
        let output: RecorderConfiguration.Output =
            perSession.map { .perSession(directory: $0) } ?? (file == "-" ? .standardOutput(manifest: manifest) : .file(path: file ?? ""))
        var configuration = RecorderConfiguration(output: output, overwrite: overwrite)
        configuration.rotateBytes = rotateSize?.bytes
        configuration.rotateInterval = rotateInterval?.duration
        configuration.ringSize = ringSize
        configuration.postRotateCommand = postRotateCommand
        configuration.redactPatterns = redact
        configuration.backlogPolicy = onBacklog
        configuration.addressing = SyntheticAddressing(unixPort: unixPort)
        configuration.properties = properties
        return configuration
    }
}

extension RecorderConfiguration.BacklogPolicy: ExpressibleByArgument {}
