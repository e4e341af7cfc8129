import ArgumentParser
import Recording

/// The captures a command reads: one file, or a rotated set read as one.
struct CaptureInput: ParsableArguments {
    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng, may be compressed with gzip or zstd; - for standard input), read in order as one capture.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("Read only packets matching this BPF expression, as tcpdump takes it.", valueName: "expression"))
    var filter: String?

    @Option(name: .customLong("session"), help: ArgumentHelp("Only the session with this index (repeatable).", valueName: "index"))
    var sessions: [Int] = []

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one capture file") }
        try checkStandardInput(files)
        if let negative = sessions.first(where: { $0 < 0 }) { throw ValidationError("session index \(negative) is negative") }
    }

    func wants(_ index: Int) -> Bool {
        sessions.isEmpty || sessions.contains(index)
    }

    /// Reads the captures and reports events with each session's real
    /// endpoints: a Tapedeck recording's manifest names Unix sockets again,
    /// and says which sessions started before the capture did.
    func read(emit: (ReassemblyEvent) throws -> Void) throws {
        let progress = ReadProgress(files: files)
        defer { progress.finish() }
        try RecordingReader(paths: files, filter: filter).read(progress: progress.update) { event in
            switch event {
            case .opened(let session):
                guard wants(session.index) else { return }
            case .event(let index, _), .closed(let index, _, _):
                guard wants(index) else { return }
            }
            try emit(event)
        }
    }
}

/// Standard input (`-`) can be read once.
func checkStandardInput(_ files: [String]) throws {
    if files.filter({ $0 == "-" }).count > 1 {
        throw ValidationError("- (standard input) can be read only once")
    }
}
