import ArgumentParser
import Recording

/// The captures a command reads: one file, or a rotated set read as one.
struct CaptureInput: ParsableArguments {
    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng), read in order as one capture.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("Read only packets matching this BPF expression, as tcpdump takes it.", valueName: "expression"))
    var filter: String?

    @Option(name: .customLong("session"), help: ArgumentHelp("Only the session with this index (repeatable).", valueName: "index"))
    var sessions: [Int] = []

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one capture file") }
        if let negative = sessions.first(where: { $0 < 0 }) { throw ValidationError("session index \(negative) is negative") }
    }

    func wants(_ index: Int) -> Bool {
        sessions.isEmpty || sessions.contains(index)
    }

    /// Reads the captures and reports events with each session's real
    /// endpoints: a Tapedeck recording's manifest names Unix sockets again.
    func read(emit: (ReassemblyEvent) throws -> Void) throws {
        var realEndpoints: [WireKey: (client: Endpoint, server: Endpoint)] = [:]
        for file in files {
            if let manifest = try Manifest.load(forRecording: file) {
                realEndpoints.merge(manifest.realEndpointsByWire) { first, _ in first }
            }
        }
        try StreamReassembler.read(paths: files, filter: filter) { event in
            switch event {
            case .opened(var session):
                guard wants(session.index) else { return }
                if let real = realEndpoints[WireKey(client: session.client, server: session.server)] {
                    session.client = real.client
                    session.server = real.server
                }
                try emit(.opened(session))
            case .event(let index, _), .closed(let index, _, _):
                guard wants(index) else { return }
                try emit(event)
            }
        }
    }
}
