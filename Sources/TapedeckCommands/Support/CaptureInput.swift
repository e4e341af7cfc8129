import ArgumentParser
import Foundation
import PcapFile
import Recording

/// The captures a command reads: one file, or a rotated set read as one.
struct CaptureInput: ParsableArguments {
    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng, may be compressed with gzip or zstd; - for standard input; a directory for the captures in it, by name), read in order as one capture.", valueName: "file"))
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

    /// `files` with each directory replaced by the captures in it.
    var paths: [String] {
        get throws { try CaptureFiles.expanding(files) }
    }

    func wants(_ index: Int) -> Bool {
        sessions.isEmpty || sessions.contains(index)
    }

    /// Reads the captures and reports events with each session's real
    /// endpoints: a Tapedeck recording's manifest names Unix sockets again,
    /// and says which sessions started before the capture did. A file cut
    /// short part-way through a record is read up to the cut, with a warning.
    /// With `lend`, bytes delivered as they arrive are lent to it uncopied
    /// instead of emitted (`LentBytes`).
    func read(lend: ((LentBytes) throws -> Void)? = nil, emit: (ReassemblyEvent) throws -> Void) throws {
        let paths = try self.paths
        let progress = ReadProgress(files: paths)
        defer { progress.finish() }
        let wanted = lend.map { lend in
            { (lent: LentBytes) throws in
                if wants(lent.session) { try lend(lent) }
            }
        }
        try RecordingReader(paths: paths, filter: filter).read(progress: progress.update, truncated: { cut in
            progress.finish()
            printError("warning: \(Self.describe(cut))")
        }, lend: wanted) { event in
            switch event {
            case .opened(let session):
                guard wants(session.index) else { return }
            case .event(let index, _), .closed(let index, _, _):
                guard wants(index) else { return }
            }
            try emit(event)
        }
    }

    /// A cut file, as a warning says it: where, and that what came before
    /// was read; without a manifest, how to get a clean copy with one.
    static func describe(_ cut: PcapError) -> String {
        var text = "\(cut); everything before the cut was read"
        if !FileManager.default.fileExists(atPath: Manifest.path(forRecording: cut.path)) {
            text += " (tapedeck convert \(cut.path) -w CLEAN.pcap writes a whole copy with its manifest)"
        }
        return text
    }
}

/// Standard input (`-`) can be read once.
func checkStandardInput(_ files: [String]) throws {
    if files.filter({ $0 == "-" }).count > 1 {
        throw ValidationError("- (standard input) can be read only once")
    }
}
