import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PcapFile
import Proxy
import Recording

/// The body of `POST /proxies/{name}/recording`: where and how to record,
/// as `tapedeck record` takes it (`-w`, `--per-session`, `-C`, `-G`, `-W`,
/// `--redact`, `--on-backlog`, `--overwrite`). Unknown fields are refused,
/// so a typo is not silently ignored.
public struct RecordingRequest: Sendable, Codable {
    /// One pcap for every session (and its manifest `PATH.json`): a new
    /// file name inside the server's recordings directory.
    public var path: String?
    /// One pcap per session in this new folder of the recordings directory.
    public var perSessionDirectory: String?
    /// Rotate `path` when it reaches this many bytes.
    public var rotateBytes: Int?
    /// Rotate `path` when it has been open this many seconds.
    public var rotateSeconds: Double?
    /// With rotation: keep only the newest N files.
    public var ringSize: Int?
    /// Regular expressions whose matches are masked with `*` in the recording.
    public var redact: [String] = []
    /// `backpressure` (lossless, the default) or `drop`.
    public var onBacklog: String?
    /// Replace an earlier recording at `path` (with rotation: every file of
    /// its set); without it, one is refused with 409.
    public var overwrite = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path
        case perSessionDirectory = "per_session_dir"
        case rotateBytes = "rotate_bytes"
        case rotateSeconds = "rotate_seconds"
        case ringSize = "ring_size"
        case redact
        case onBacklog = "on_backlog"
        case overwrite
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// An empty body: set the fields to send.
    public init() {}

    public init(from decoder: Decoder) throws {
        for key in try decoder.container(keyedBy: AnyKey.self).allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            if key.stringValue == "enabled" {
                throw APIError.badRequest("to stop recording, send DELETE to this path; the body takes: \(Self.fieldList)")
            }
            throw APIError.badRequest("unknown field: \(key.stringValue) (the body takes: \(Self.fieldList))")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decodeIfPresent(String.self, forKey: .path)
        perSessionDirectory = try container.decodeIfPresent(String.self, forKey: .perSessionDirectory)
        rotateBytes = try container.decodeIfPresent(Int.self, forKey: .rotateBytes)
        rotateSeconds = try container.decodeIfPresent(Double.self, forKey: .rotateSeconds)
        ringSize = try container.decodeIfPresent(Int.self, forKey: .ringSize)
        if let one = try? container.decodeIfPresent(String.self, forKey: .redact) {
            redact = [one]
        } else {
            redact = try container.decodeIfPresent([String].self, forKey: .redact) ?? []
        }
        onBacklog = try container.decodeIfPresent(String.self, forKey: .onBacklog)
        overwrite = try container.decodeIfPresent(Bool.self, forKey: .overwrite) ?? false
    }

    /// `name` inside `directory`, when it is a plain file name.
    private static func confined(_ name: String, field: String, in directory: String) throws(APIError) -> String {
        guard !name.contains("/"), name != ".", name != "..", !name.contains("\0") else {
            throw .badRequest("\(field) must be a file name inside the recordings directory \(directory), without '/' or '..': \(name)")
        }
        return directory + "/" + name
    }

    private static func refuseExisting(_ path: String, field: String, as name: String) throws(APIError) {
        var status = stat()
        if lstat(path, &status) == 0 {
            throw APIError(.conflict, "\(field): \(name) exists already in the recordings directory; choose a new name (nothing is replaced)")
        }
    }

    private static var fieldList: String {
        CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// Checks the request as `tapedeck record` checks its flags; every
    /// problem is a 400 naming the field. `path` and `per_session_dir` are
    /// names inside `directory` (the server's `--recordings-dir`): no `/`,
    /// no `..`, so the API cannot be used to overwrite files elsewhere as
    /// the server's user. An earlier recording at `path` is a 409, in
    /// `tapedeck record`'s words, unless `overwrite` (the registry then
    /// removes it: `removeReplacedFiles`); an existing `per_session_dir`
    /// always is.
    func configuration(properties: [String: String], directory: String) throws(APIError) -> RecorderConfiguration {
        let output: RecorderConfiguration.Output
        switch (path, perSessionDirectory) {
        case (nil, nil), ("", nil), (nil, ""):
            throw .badRequest("missing required field: path (or per_session_dir)")
        case (let path?, nil):
            output = .file(path: try Self.confined(path, field: "path", in: directory))
        case (nil, let name?):
            let folder = try Self.confined(name, field: "per_session_dir", in: directory)
            try Self.refuseExisting(folder, field: "per_session_dir", as: name)
            guard rotateBytes == nil && rotateSeconds == nil else {
                throw .badRequest("rotate_bytes and rotate_seconds rotate a path; per_session_dir already writes one file per session")
            }
            output = .perSession(directory: folder)
        case (.some, .some):
            throw .badRequest("path and per_session_dir exclude each other")
        }
        if let rotateBytes, rotateBytes <= 0 { throw .badRequest("rotate_bytes must be a positive number of bytes") }
        if let rotateSeconds, !(rotateSeconds > 0 && rotateSeconds <= 100 * 86_400) {
            throw .badRequest("rotate_seconds must be a number of seconds over 0 and up to 8640000 (100 days)")
        }
        if let ringSize {
            guard ringSize > 0 else { throw .badRequest("ring_size must be a positive number of files") }
            guard rotateBytes != nil || rotateSeconds != nil else { throw .badRequest("ring_size keeps a ring of rotated files: add rotate_bytes or rotate_seconds") }
        }
        var policy = RecorderConfiguration.BacklogPolicy.backpressure
        if let onBacklog {
            guard let chosen = RecorderConfiguration.BacklogPolicy(rawValue: onBacklog) else {
                throw .badRequest("on_backlog must be backpressure or drop, not \(onBacklog)")
            }
            policy = chosen
        }
        do {
            _ = try Redactor(patterns: redact, option: "redact")
        } catch {
            throw .badRequest(error.message)
        }
        var configuration = RecorderConfiguration(output: output, overwrite: overwrite)
        configuration.rotateBytes = rotateBytes.map(Int64.init)
        configuration.rotateInterval = rotateSeconds.map { .milliseconds(Int64(($0 * 1000).rounded())) }
        configuration.ringSize = ringSize
        configuration.redactPatterns = redact
        configuration.backlogPolicy = policy
        configuration.properties = properties
        do {
            try configuration.refuseToReplace(option: "path", optIn: #"send "overwrite": true"#)
        } catch {
            throw APIError(.conflict, "\(error)")
        }
        return configuration
    }
}

/// A recording in progress on one proxy: the `Recorder` behind a sink that
/// counts what it is given and, once stopped, lets nothing more through.
final class ProxyRecording: Sendable {
    let recorder: Recorder
    let started: Timestamp
    /// What the proxy's sessions report to.
    let sink: SessionSink
    private let tally: NIOLockedValueBox<Tally>
    struct Tally {
        var stopped = false
        var sessions = 0
        var bytesClientToServer = 0
        var bytesServerToClient = 0

        mutating func count(_ bytes: Int, _ direction: Direction) {
            if direction == .clientToServer { bytesClientToServer += bytes } else { bytesServerToClient += bytes }
        }
    }

    init(recorder: Recorder) {
        let tally = NIOLockedValueBox(Tally())
        self.recorder = recorder
        self.started = .now()
        self.tally = tally
        self.sink = Sink(recorder: recorder, tally: tally)
    }

    /// Detaches every session from the recorder, then writes out and closes
    /// its files (blocking: call it off the event loops).
    func stop() {
        tally.withLockedValue { $0.stopped = true }
        recorder.finish()
    }

    var isStopped: Bool { tally.withLockedValue { $0.stopped } }

    /// Bytes written to the recording's files so far (headers and frames).
    var fileBytes: Int {
        Int(recorder.recordedBytes.load(ordering: .relaxed))
    }

    /// Payload the files do not hold because writing failed (a full disk).
    var unrecordedBytes: Int {
        recorder.unrecordedBytes.load(ordering: .relaxed)
    }

    func view(proxy: String) -> RecordingView {
        let tally = self.tally.withLockedValue { $0 }
        let configuration = recorder.configuration
        var view = RecordingView(proxy: proxy, recording: !tally.stopped)
        switch configuration.output {
        case .file(let path):
            view.path = path
            if !tally.stopped { view.currentFile = recorder.currentFile }
        case .perSession(let directory):
            view.perSessionDirectory = directory
        case .standardOutput:
            view.path = "-"
        }
        view.started = started.rfc3339
        view.sessions = tally.sessions
        view.bytes = fileBytes
        view.bytesClientToServer = tally.bytesClientToServer
        view.bytesServerToClient = tally.bytesServerToClient
        view.droppedBytes = recorder.droppedBytes.load(ordering: .relaxed)
        view.unrecordedBytes = unrecordedBytes
        view.stoppedBecause = recorder.stopReason?.description
        return view
    }

    /// Counts under the same lock that `stop` takes, so nothing is counted
    /// that the recorder did not take, and nothing reaches it after `stop`.
    private final class Sink: SessionSink {
        let recorder: Recorder
        let tally: NIOLockedValueBox<Tally>

        init(recorder: Recorder, tally: NIOLockedValueBox<Tally>) {
            self.recorder = recorder
            self.tally = tally
        }

        func open(_ session: Session) {
            tally.withLockedValue { tally in
                guard !tally.stopped else { return }
                tally.sessions += 1
                recorder.open(session)
            }
        }

        func record(_ event: SessionEvent, session id: UInt64) {
            tally.withLockedValue { tally in
                guard !tally.stopped else { return }
                if case .data(let buffer) = event.kind {
                    tally.count(buffer.readableBytes, event.direction)
                }
                recorder.record(event, session: id)
            }
        }

        func record(copying bytes: UnsafeRawBufferPointer, direction: Direction, at time: Timestamp, session id: UInt64) {
            tally.withLockedValue { tally in
                guard !tally.stopped else { return }
                tally.count(bytes.count, direction)
                recorder.record(copying: bytes, direction: direction, at: time, session: id)
            }
        }

        func close(session id: UInt64, at time: Timestamp) {
            tally.withLockedValue { tally in
                guard !tally.stopped else { return }
                recorder.close(session: id, at: time)
            }
        }

        func faults(_ faults: [SessionFault], session id: UInt64) {
            tally.withLockedValue { tally in
                guard !tally.stopped else { return }
                recorder.faults(faults, session: id)
            }
        }

        func backlogDrained(on eventLoop: EventLoop) -> EventLoopFuture<Void>? {
            recorder.backlogDrained(on: eventLoop)
        }
    }
}

/// A proxy's recording as `GET`, `POST` and `DELETE /proxies/{name}/recording` show it.
public struct RecordingView: Sendable, Codable {
    public var proxy: String
    /// True while sessions are being recorded.
    public var recording: Bool
    public var path: String?
    public var perSessionDirectory: String?
    /// The file being written now (differs from `path` when rotating).
    public var currentFile: String?
    public var started: String?
    /// Sessions opened while recording.
    public var sessions: Int?
    /// Bytes written to the recording's files (pcap headers included).
    public var bytes: Int?
    /// Payload captured each way.
    public var bytesClientToServer: Int?
    public var bytesServerToClient: Int?
    /// Payload left out of the recording (`on_backlog: drop`), shown as gaps.
    public var droppedBytes: Int?
    /// Payload the files do not hold because writing failed (a full disk).
    public var unrecordedBytes: Int?
    /// Why recording stopped on its own (the disk failed), while the proxy went on.
    public var stoppedBecause: String?

    init(proxy: String, recording: Bool) {
        self.proxy = proxy
        self.recording = recording
    }

    enum CodingKeys: String, CodingKey {
        case proxy, recording, path, started, sessions, bytes
        case perSessionDirectory = "per_session_dir"
        case currentFile = "current_file"
        case bytesClientToServer = "bytes_client_to_server"
        case bytesServerToClient = "bytes_server_to_client"
        case droppedBytes = "dropped_bytes"
        case unrecordedBytes = "unrecorded_bytes"
        case stoppedBecause = "stopped_because"
    }
}

/// A live session as `GET /proxies/{name}/sessions` shows it.
public struct SessionView: Sendable, Codable {
    public var id: UInt64
    public var client: String
    public var upstream: String
    /// RFC 3339, as `started` in ``RecordingView``.
    public var opened: String
    public var bytesClientToServer: Int
    public var bytesServerToClient: Int
    /// Whether the session is being written to the proxy's recording.
    public var recording: Bool

    init(_ session: LiveSession) {
        id = session.id
        client = session.client.description
        upstream = session.upstream.description
        opened = session.opened.rfc3339
        bytesClientToServer = session.bytesClientToServer
        bytesServerToClient = session.bytesServerToClient
        recording = session.recording
    }

    enum CodingKeys: String, CodingKey {
        case id, client, upstream, opened, recording
        case bytesClientToServer = "bytes_client_to_server"
        case bytesServerToClient = "bytes_server_to_client"
    }
}
