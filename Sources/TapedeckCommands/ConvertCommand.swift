import ArgumentParser
import Recording

/// `tapedeck convert`: any capture to a clean Tapedeck recording.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Turn any capture into a clean Tapedeck recording (a replay fixture).",
        discussion: """
            Sessions are reassembled and written again as clean TCP flows: valid checksums, \
            no retransmissions, no offload artefacts, one handshake each, with a manifest \
            (OUT.json) listing every session's bytes and SHA-256 per direction. Bytes the \
            capture lost stay visible: the session is marked, the manifest counts them, and \
            Wireshark shows "previous segment not captured" where they were.

            Example:
              tcpdump -i lo -w raw.pcap 'tcp port 6379'    # while traffic runs
              tapedeck convert raw.pcap -w Recordings/redis.pcap
            """
    )

    @OptionGroup var input: CaptureInput

    @Option(name: .customShort("w"), help: ArgumentHelp("The recording to write (its manifest goes beside it as FILE.json).", valueName: "file"))
    var output: String

    @Option(parsing: .unconditional, help: ArgumentHelp("Server port written for Unix-socket sessions whose path names none.", valueName: "port"), transform: unsignedOption("--unix-port"))
    var unixPort: UInt16 = SyntheticAddressing.defaultUnixPort

    func validate() throws {
        if input.files.contains(output) || (try? input.paths)?.contains(output) == true {
            throw ValidationError("-w \(output) is also an input; write the recording to another file")
        }
        if let directory = CaptureFiles.directory(among: input.files, holding: output) {
            throw ValidationError("-w \(output) is inside \(directory), which is read as input; write the recording elsewhere")
        }
    }

    func run() throws {
        try reportingFailures {
            let addressing = SyntheticAddressing(unixPort: unixPort)
            let properties = ["converted_from": input.files.joined(separator: " ")]
            // Created at the first session, so an unreadable input leaves no output behind.
            var writer: RecordingFileWriter?
            func recording() throws -> RecordingFileWriter {
                if let writer { return writer }
                let created = try RecordingFileWriter(path: output, addressing: addressing, properties: properties)
                writer = created
                return created
            }
            // Bytes each session's capture lost, by session (few have any).
            var gaps: [Int: Int] = [:]
            do {
                try input.read { event in
                    switch event {
                    case .opened(let session):
                        try recording().open(session)
                    case .event(let index, let sessionEvent):
                        if case .gap(let bytes) = sessionEvent.kind { gaps[index, default: 0] += bytes }
                        try writer?.append(sessionEvent, session: UInt64(index))
                    case .closed(let index, let time, let end):
                        writer?.close(session: UInt64(index), at: time, end: end)
                    }
                }
            } catch {
                if let writer {
                    try writer.finish()
                    printError("wrote the \(sessionCount(writer.sessionCount)) read before the failure to \(output)")
                }
                throw error
            }
            let written = try recording()
            try written.finish()
            for (index, lost) in gaps.sorted(by: { $0.key < $1.key }) {
                printError("warning: session \(index) lost \(lost) bytes in the capture; they are marked as a gap")
            }
            printError("wrote \(sessionCount(written.sessionCount)) to \(output)")
        }
    }
}
