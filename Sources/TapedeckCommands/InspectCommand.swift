import ArgumentParser
import Foundation
import NIOCore
import PcapFile
import Recording

/// `tapedeck inspect`: the sessions in any capture — bytes each way,
/// checksums, duration and how each ended — and, with `--verify`, whether a
/// recording still holds what its manifest says it recorded.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the TCP sessions in captures: endpoints, bytes each way, duration, how each ended.",
        discussion: """
            Reads Tapedeck recordings and foreign captures alike (tcpdump, Wireshark; pcap or \
            pcapng; Ethernet, Linux cooked, raw IP or BSD loopback). Several files are read in \
            order as one capture, as a rotated set is. A recording's manifest (FILE.json) names \
            its Unix sockets.

            --verify computes each session's bytes and XXH3 checksum again from each \
            recording and compares them with its manifest (exit 1 on any difference).

            Examples:
              tapedeck inspect Recordings/redis.pcap
              tapedeck inspect capture.pcapng --filter 'tcp port 5432' --format json
              tapedeck inspect Recordings/redis.pcap --session 0 --dump server > reply.bin
              tapedeck inspect big.pcap --format json --digest xxh3
              tapedeck inspect Recordings/*.pcap --verify
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    enum Digest: String, ExpressibleByArgument, CaseIterable {
        case none, xxh3, sha256
    }

    enum Side: String, ExpressibleByArgument, CaseIterable {
        case client, server
        var direction: Direction { self == .client ? .clientToServer : .serverToClient }
    }

    @OptionGroup var input: CaptureInput

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    @Option(help: ArgumentHelp("The checksum of each direction in JSON: none, xxh3 (fast) or sha256 (default for json).", valueName: "none|xxh3|sha256"))
    var digest: Digest?

    @Option(help: ArgumentHelp("Write the raw bytes one side sent in the chosen --session to standard output.", valueName: "client|server"))
    var dump: Side?

    @Flag(help: "Check each recording against its manifest: bytes and XXH3 of every session, each way.")
    var verify = false

    func validate() throws {
        if dump != nil && input.sessions.count != 1 {
            throw ValidationError("--dump needs exactly one --session")
        }
        if let digest, digest != .none, format != .json {
            throw ValidationError("--digest \(digest.rawValue) goes with --format json (the table shows no checksums)")
        }
        if verify && (dump != nil || input.filter != nil || !input.sessions.isEmpty) {
            throw ValidationError("--verify checks whole files: it takes no --dump, --filter or --session")
        }
    }

    /// The checksums the JSON carries: `--digest`, else SHA-256 for JSON and none for the table.
    private var checksums: [ChecksumKind] {
        switch digest ?? (format == .json ? .sha256 : .none) {
        case .none: []
        case .xxh3: [.xxh3]
        case .sha256: [.sha256]
        }
    }

    func run() throws {
        try reportingFailures {
            if verify {
                try verifyFiles()
                return
            }
            if let dump {
                try dumpBytes(of: dump.direction)
                return
            }
            // A damaged file still shows the sessions read before the damage,
            // then the error; one that could not be read at all shows nothing.
            // (A file cut short part-way through a record is not damaged:
            // it is read to the cut, with a warning, and exits 0.)
            var failure: Error?
            var table = SessionTable()
            var list = SessionJSONList()
            var found = Set<Int>()
            try summarize(failure: &failure) { summary, lowestOpen in
                if !input.sessions.isEmpty { found.insert(summary.index) }
                switch format {
                case .table: table.add(summary, lowestOpen: lowestOpen)
                case .json: try list.add(summary, lowestOpen: lowestOpen)
                }
            }
            if let failure, !Self.readPartly(failure) {
                throw failure
            }
            // A --session the capture does not hold is an error, as in `replay serve`.
            if failure == nil, let missing = input.sessions.first(where: { !found.contains($0) }) {
                throw InspectError.noSuchSession(missing)
            }
            switch format {
            case .table: try table.write { print($0); try StandardOutput.check() }
            case .json: try list.write { print($0); try StandardOutput.check() }
            }
            if let failure { throw failure }
        }
    }

    private static func readPartly(_ error: Error) -> Bool {
        guard let error = error as? PcapError else { return false }
        return error.code == .read
    }

    /// Each session's summary as it closes, with the lowest index of a
    /// session still open. The table shows no checksums, so only JSON pays
    /// for them.
    private func summarize(failure: inout Error?, _ body: (SessionSummary, Int?) throws -> Void) throws {
        var summaries = SessionSummaries(checksums: checksums, keepsClosed: false)
        var failed: Error?
        do {
            // Bytes are only counted and hashed here: they need no copy.
            try input.read(lend: { summaries.take($0) }) { event in
                guard failed == nil else { return }
                guard let summary = summaries.take(event) else { return }
                do { try body(summary, summaries.lowestOpenIndex) } catch { failed = error }
            }
        } catch {
            failure = error
        }
        if let failed { throw failed }
    }

    /// One line per file: the sessions checked, or each difference; exit 1 on any.
    private func verifyFiles() throws {
        var failed = false
        for path in try input.paths {
            let result = try ChecksumVerification.verify(path: path)
            if result.passed {
                print("\(path): \(result.sessionsChecked) session\(result.sessionsChecked == 1 ? "" : "s"), bytes and checksums as recorded")
            } else {
                failed = true
                for problem in result.problems { print("\(path): \(problem)") }
            }
        }
        if failed { throw ExitCode(1) }
    }

    private func dumpBytes(of direction: Direction) throws {
        var found = false
        var gapBytes = 0
        try input.read { event in
            switch event {
            case .opened:
                found = true
            case .event(_, let sessionEvent) where sessionEvent.direction == direction:
                switch sessionEvent.kind {
                case .data(let buffer):
                    try buffer.withUnsafeReadableBytes { try StandardOutput.write($0) }
                case .gap(let count):
                    gapBytes += count
                default:
                    break
                }
            default:
                break
            }
        }
        guard found else {
            throw InspectError.noSuchSession(input.sessions[0])
        }
        if gapBytes > 0 {
            printError("warning: the capture lost \(gapBytes) bytes of that side; the dump leaves them out")
        }
    }
}

enum InspectError: Error, CustomStringConvertible {
    case noSuchSession(Int)

    var description: String {
        switch self {
        case .noSuchSession(let index): return "no session \(index) in the capture (tapedeck inspect lists them)"
        }
    }
}
