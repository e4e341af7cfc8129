import Faults
import Foundation
import Logging
import NIOCore
import Proxy
import Recording

/// The named proxies the API manages, with their toxics, in creation order.
///
/// Every change goes through this actor, so API requests are serialised
/// per registry; toxics reach live connections through `ProxyServer.setFaults`,
/// a recording reaches new sessions through `ProxyServer.setSink`.
public actor ProxyRegistry {
    /// One managed proxy. `server` is nil while the proxy is disabled.
    struct Entry {
        var name: String
        /// `listen` as the client asked for it (port 0 stays 0), for populate's comparison.
        var requestedListen: Endpoint
        /// The concrete endpoint, port 0 resolved at creation; re-enabling binds it again.
        var listen: Endpoint
        var upstream: Endpoint
        var toxics: [Fault]
        var server: ProxyServer?
        /// Counters of the servers this proxy ran before (each disable/enable
        /// makes a new one) and of its finished recordings.
        var retired: ProxyCounters
        /// The recording new sessions go to; it outlives a disable and enable.
        var recording: ProxyRecording?
        /// TLS as the client stated it, and as made (files read) from it.
        var tlsDefinition: ProxyTLSDefinition?
        var tls: ProxyTLS?

        var enabled: Bool { server != nil }

        var view: ProxyView {
            ProxyView(name: name, listen: listen.description, upstream: upstream.description, enabled: enabled, toxics: toxics.map(FaultDefinition.init), tls: tlsDefinition)
        }
    }

    private var entries: [Entry] = []
    /// Changes run one at a time. The actor alone lets them interleave at
    /// every `await` (a proxy binding its port, sessions closing): twenty
    /// concurrent creates of one name made up to nine proxies, and a change
    /// could write its copy of an entry back over what another had done.
    private var changing = false
    private var waitingToChange: [CheckedContinuation<Void, Never>] = []
    private let group: EventLoopGroup
    private let seed: UInt64
    private let splice: Bool
    private let logger: Logger
    private let metrics = ProxyMetrics()
    /// The only folder recordings started through the API are written to.
    let recordingsDirectory: String

    /// - Parameters:
    ///   - group: the event loops the proxies run on.
    ///   - seed: fixes the random choices of every proxy's toxics.
    ///   - recordingsDirectory: where `POST /proxies/{name}/recording` writes
    ///     (created, mode 0700, when first needed); `recordings` in the
    ///     working directory by default.
    ///   - splice: sessions no toxic or TLS needs to see leave NIO for the
    ///     splice path (`ProxyConfiguration.splice`); false keeps every one on NIO.
    public init(group: EventLoopGroup, seed: UInt64, recordingsDirectory: String? = nil, splice: Bool = true, logger: Logger) {
        self.group = group
        self.seed = seed
        self.splice = splice
        let directory = recordingsDirectory ?? "recordings"
        self.recordingsDirectory = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        self.logger = logger
    }

    private func beginChange() async {
        guard changing else {
            changing = true
            return
        }
        // Handed over by `endChange`, still marked changing.
        await withCheckedContinuation { waitingToChange.append($0) }
    }

    private func endChange() {
        if waitingToChange.isEmpty {
            changing = false
        } else {
            waitingToChange.removeFirst().resume()
        }
    }

    // MARK: Proxies

    func all() -> [ProxyView] {
        entries.map(\.view)
    }

    func proxy(_ name: String) throws(APIError) -> ProxyView {
        try entries[index(of: name)].view
    }

    /// Creates and (unless `enabled: false`) starts a proxy.
    @discardableResult
    public func create(_ definition: ProxyDefinition) async throws(APIError) -> ProxyView {
        await beginChange()
        defer { endChange() }
        return try await createNow(definition)
    }

    private func createNow(_ definition: ProxyDefinition) async throws(APIError) -> ProxyView {
        let (name, upstreamText) = try definition.requireFields()
        try Self.checkName(proxy: name)
        guard !entries.contains(where: { $0.name == name }) else { throw APIError(.conflict, "proxy already exists") }
        let upstream = try Endpoint.api(upstreamText, field: "upstream")
        let listen = try Endpoint.api(definition.listen ?? "127.0.0.1:0", field: "listen")
        let toxics = try Self.checkedToxics(definition.toxics ?? [])
        var entry = Entry(name: name, requestedListen: listen, listen: listen, upstream: upstream, toxics: toxics, server: nil, retired: ProxyCounters())
        entry.tls = try definition.tls?.proxyTLS()
        entry.tlsDefinition = entry.tls == nil ? nil : definition.tls
        // Bind even a disabled proxy once, so its port is known and stays its own.
        let server = try await start(entry)
        entry.listen = server.listeningEndpoints.first ?? listen
        if definition.enabled ?? true {
            entry.server = server
        } else {
            await server.shutdown(grace: .zero)
        }
        entries.append(entry)
        logger.info("proxy created", metadata: ["proxy.name": "\(name)", "listener.address": "\(entry.listen)", "upstream.address": "\(upstream)"])
        return entry.view
    }

    /// Toxiproxy's update (`POST`/`PATCH /proxies/{name}`): a new `listen`
    /// or `upstream` restarts the proxy (dropping its connections);
    /// `enabled` starts or stops it.
    /// A change that fails (an upstream no one knows, a port in use) leaves
    /// the proxy as it was: running on its old listener and upstream.
    func update(_ name: String, with definition: ProxyDefinition) async throws(APIError) -> ProxyView {
        await beginChange()
        defer { endChange() }
        let position = try index(of: name)
        let previous = entries[position]
        var entry = entries[position]
        var restart = false
        if let text = definition.upstream, !text.isEmpty {
            let upstream = try Endpoint.api(text, field: "upstream")
            restart = restart || upstream != entry.upstream
            entry.upstream = upstream
        }
        if let text = definition.listen, !text.isEmpty {
            let listen = try Endpoint.api(text, field: "listen")
            if listen != entry.listen && listen != entry.requestedListen {
                restart = true
                entry.requestedListen = listen
                entry.listen = listen
            }
        }
        if let tls = definition.tls, tls != entry.tlsDefinition {
            // New TLS settings apply to a new server: live connections go.
            entry.tls = try tls.proxyTLS()
            entry.tlsDefinition = entry.tls == nil ? nil : tls
            restart = true
        }
        let enable = definition.enabled ?? entry.enabled
        if entry.enabled && (restart || !enable) {
            await stop(&entry)
        }
        if enable && !entry.enabled {
            do {
                let server = try await start(entry)
                entry.listen = server.listeningEndpoints.first ?? entry.listen
                entry.server = server
            } catch {
                entries[position] = await restored(previous, after: entry)
                throw error
            }
        }
        entries[position] = entry
        return entry.view
    }

    /// `previous` running again after a change to it failed (`failed` is
    /// what was tried, its counters kept); disabled, and said in the log,
    /// if even that cannot start.
    private func restored(_ previous: Entry, after failed: Entry) async -> Entry {
        var entry = previous
        entry.retired = failed.retired
        entry.server = nil
        guard previous.enabled else { return entry }
        do {
            entry.server = try await start(entry)
        } catch {
            logger.error("proxy disabled: a change failed and it cannot start again as it was", metadata: ["proxy.name": "\(previous.name)", "error": "\(error.message)"])
        }
        return entry
    }

    func delete(_ name: String) async throws(APIError) {
        await beginChange()
        defer { endChange() }
        try await deleteNow(name)
    }

    private func deleteNow(_ name: String) async throws(APIError) {
        let position = try index(of: name)
        var entry = entries.remove(at: position)
        await stop(&entry)
        if let recording = entry.recording {
            await Self.finish(recording)
        }
        logger.info("proxy deleted", metadata: ["proxy.name": "\(name)"])
    }

    /// `POST /populate`: checks every entry first (nothing is created when
    /// one lacks a name or upstream), then creates them in order. An
    /// existing proxy with the same listen and upstream is kept as it is;
    /// one that differs is replaced. The first failure stops the run.
    public func populate(_ definitions: [ProxyDefinition]) async throws(APIError) -> [ProxyView] {
        await beginChange()
        defer { endChange() }
        for (position, definition) in definitions.enumerated() {
            _ = try definition.requireFields(suffix: " at proxy \(position + 1)")
        }
        var result: [ProxyView] = []
        for definition in definitions {
            let (name, upstreamText) = try definition.requireFields()
            if let position = entries.firstIndex(where: { $0.name == name }) {
                let existing = entries[position]
                let upstream = try Endpoint.api(upstreamText, field: "upstream")
                let listen = try Endpoint.api(definition.listen ?? "127.0.0.1:0", field: "listen")
                if upstream == existing.upstream && (listen == existing.listen || listen == existing.requestedListen) {
                    result.append(existing.view)
                    continue
                }
                try await deleteNow(name)
            }
            result.append(try await createNow(definition))
        }
        return result
    }

    /// `POST /reset`: every proxy enabled, every toxic removed.
    func reset() async throws(APIError) {
        await beginChange()
        defer { endChange() }
        for position in entries.indices {
            var entry = entries[position]
            entry.toxics = []
            if let server = entry.server {
                await server.setFaults([])
            } else {
                let server = try await start(entry)
                entry.server = server
            }
            entries[position] = entry
        }
    }

    /// Stops every proxy and closes its connections (server shutdown), then
    /// closes every recording.
    public func shutdown(grace: Duration) async {
        await beginChange()
        defer { endChange() }
        for position in entries.indices {
            await entries[position].server?.shutdown(grace: grace)
            entries[position].server = nil
        }
        for position in entries.indices {
            guard let recording = entries[position].recording else { continue }
            entries[position].recording = nil
            await Self.finish(recording)
            entries[position].retired.recordedBytes += recording.fileBytes
            entries[position].retired.unrecordedBytes += recording.unrecordedBytes
        }
    }

    // MARK: Recording and sessions

    /// `POST /proxies/{name}/recording`: sessions opened from now on are
    /// recorded as the request says.
    func startRecording(_ request: RecordingRequest, on name: String) async throws(APIError) -> RecordingView {
        await beginChange()
        defer { endChange() }
        let position = try index(of: name)
        let entry = entries[position]
        if let current = entry.recording {
            let view = current.view(proxy: name)
            throw APIError(.conflict, "proxy is already recording to \(view.path ?? view.perSessionDirectory ?? "?"); stop it first")
        }
        var properties = ["proxy": name, "upstream": entry.upstream.description, "listen": entry.listen.description]
        if !entry.toxics.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            properties["faults"] = (try? encoder.encode(entry.toxics)).map { String(decoding: $0, as: UTF8.self) }
            properties["seed"] = String(seed)
        }
        let configuration = try request.configuration(properties: properties, directory: recordingsDirectory)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: recordingsDirectory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw APIError(.internalServerError, "the recordings directory \(recordingsDirectory) (--recordings-dir) is not a directory")
        }
        let recorder: Recorder
        do {
            try FileManager.default.createDirectory(atPath: recordingsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            configuration.removeReplacedFiles()
            recorder = try Recorder(configuration: configuration, logger: logger)
        } catch {
            throw .badRequest("cannot record to \(request.path ?? request.perSessionDirectory ?? ""): \(PlainReason.of(error))")
        }
        let recording = ProxyRecording(recorder: recorder)
        entries[position].recording = recording
        entries[position].server?.setSink(recording.sink)
        let view = recording.view(proxy: name)
        logger.info("recording started", metadata: ["proxy.name": "\(name)", "file": "\(view.path ?? view.perSessionDirectory ?? "")"])
        return view
    }

    /// `DELETE /proxies/{name}/recording`: new sessions are no longer
    /// recorded, live ones stop being recorded (their frames so far are
    /// kept, the session marked open), and the files are written out and
    /// closed with their manifests.
    func stopRecording(on name: String) async throws(APIError) -> RecordingView {
        await beginChange()
        defer { endChange() }
        let position = try index(of: name)
        guard let recording = entries[position].recording else { throw APIError(.notFound, "proxy is not recording") }
        entries[position].recording = nil
        entries[position].server?.setSink(nil)
        await Self.finish(recording)
        // The entry may have moved (or gone) while the files were written out.
        if let position = entries.firstIndex(where: { $0.name == name }) {
            entries[position].retired.recordedBytes += recording.fileBytes
            entries[position].retired.unrecordedBytes += recording.unrecordedBytes
        }
        let view = recording.view(proxy: name)
        logger.info("recording stopped", metadata: ["proxy.name": "\(name)", "sessions": "\(view.sessions ?? 0)", "bytes": "\(view.bytes ?? 0)"])
        return view
    }

    func recording(of name: String) throws(APIError) -> RecordingView {
        let entry = entries[try index(of: name)]
        return entry.recording?.view(proxy: name) ?? RecordingView(proxy: name, recording: false)
    }

    /// The proxy's live sessions, oldest first (none while it is disabled).
    func sessions(of name: String) throws(APIError) -> [SessionView] {
        (entries[try index(of: name)].server?.liveSessions ?? []).map(SessionView.init)
    }

    /// What a live report of the proxy is made of: the files its recording
    /// has written so far (with rotation, those its ring still keeps; none
    /// while it records nothing), the sessions
    /// open now that the recording does not hold, and the proxy's view.
    func reportSources(of name: String) throws(APIError) -> ReportSources {
        let entry = entries[try index(of: name)]
        var files: [String] = []
        if let recording = entry.recording, !recording.isStopped {
            switch recording.recorder.configuration.output {
            case .file:
                // A rotating recording: every file of its set so far, read as one capture.
                let set = recording.recorder.configuration.existingFiles.filter { !$0.hasSuffix(".json") && !$0.hasSuffix(".partial") }
                files = set.isEmpty ? [recording.recorder.currentFile] : set
            case .perSession(let directory):
                let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                files = names.filter { $0.contains(".pcap") && !$0.hasSuffix(".json") && !$0.hasSuffix(".partial") }.sorted().map { directory + "/" + $0 }
            case .standardOutput:
                break
            }
        }
        let unrecorded = (entry.server?.liveSessions ?? []).filter { !$0.recording || files.isEmpty }
        return ReportSources(proxy: entry.view, files: files, unrecorded: unrecorded)
    }

    /// Writes out a recording's files, off the event loops and the actor's thread.
    private static func finish(_ recording: ProxyRecording) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                recording.stop()
                continuation.resume()
            }
        }
    }

    // MARK: Toxics

    func toxics(of name: String) throws(APIError) -> [Fault] {
        try entries[index(of: name)].toxics
    }

    func toxic(_ toxicName: String, of name: String) throws(APIError) -> Fault {
        let toxics = try entries[index(of: name)].toxics
        guard let toxic = toxics.first(where: { $0.name == toxicName }) else { throw .toxicNotFound }
        return toxic
    }

    /// Adds a toxic after the others (Toxiproxy's order); names are unique across both streams.
    func addToxic(_ toxic: Fault, to name: String) async throws(APIError) -> Fault {
        await beginChange()
        defer { endChange() }
        let position = try index(of: name)
        try Self.checkName(of: toxic)
        guard !entries[position].toxics.contains(where: { $0.name == toxic.name }) else {
            throw APIError(.conflict, "toxic already exists")
        }
        entries[position].toxics.append(toxic)
        await entries[position].server?.setFaults(entries[position].toxics)
        return toxic
    }

    func updateToxic(_ toxicName: String, of name: String, with patch: FaultPatch) async throws(APIError) -> Fault {
        await beginChange()
        defer { endChange() }
        let position = try index(of: name)
        guard let toxicPosition = entries[position].toxics.firstIndex(where: { $0.name == toxicName }) else { throw .toxicNotFound }
        let updated: Fault
        do {
            updated = try entries[position].toxics[toxicPosition].applying(patch)
        } catch {
            throw .badRequest(error.message)
        }
        entries[position].toxics[toxicPosition] = updated
        await entries[position].server?.setFaults(entries[position].toxics)
        return updated
    }

    func removeToxic(_ toxicName: String, from name: String) async throws(APIError) {
        await beginChange()
        defer { endChange() }
        let position = try index(of: name)
        guard let toxicPosition = entries[position].toxics.firstIndex(where: { $0.name == toxicName }) else { throw .toxicNotFound }
        entries[position].toxics.remove(at: toxicPosition)
        await entries[position].server?.setFaults(entries[position].toxics)
    }

    // MARK: Metrics

    /// Each proxy's counters, summed over its restarts and recordings, in creation order.
    func counters() -> [(name: String, counters: ProxyCounters)] {
        entries.map { entry in
            var current = ProxyCounters(entry.server?.statistics.snapshot)
            if let recording = entry.recording {
                current.recording = true
                current.recordedBytes = recording.fileBytes
                current.unrecordedBytes = recording.unrecordedBytes
            }
            return (entry.name, entry.retired + current)
        }
    }

    /// `GET /metrics`: every proxy's counters in the Prometheus text format.
    func metricsText() -> String {
        metrics.render(counters())
    }

    // MARK: Helpers

    private func index(of name: String) throws(APIError) -> Int {
        guard let position = entries.firstIndex(where: { $0.name == name }) else { throw .proxyNotFound }
        return position
    }

    private func start(_ entry: Entry) async throws(APIError) -> ProxyServer {
        var configuration = ProxyConfiguration(
            listeners: [entry.listen],
            upstream: entry.upstream,
            faults: FaultSettings(faults: entry.toxics, seed: seed, canChange: true)
        )
        configuration.tls = entry.tls
        configuration.splice = configuration.splice && splice
        var logger = self.logger
        logger[metadataKey: "proxy.name"] = "\(entry.name)"
        let server = ProxyServer(configuration: configuration, group: group, sink: entry.recording?.sink, logger: logger)
        do {
            try await server.start()
        } catch let error as ProxyError where error.code != .listen {
            // An upstream no one knows, a listener that cannot be one: the request's fault.
            throw .badRequest(error.message)
        } catch {
            throw APIError(.internalServerError, "\(error)")
        }
        return server
    }

    private func stop(_ entry: inout Entry) async {
        guard let server = entry.server else { return }
        await server.stopAccepting()
        await server.closeAllSessions()
        entry.retired = entry.retired + ProxyCounters(server.statistics.snapshot)
        entry.server = nil
    }

    private static func checkedToxics(_ toxics: [Fault]) throws(APIError) -> [Fault] {
        var names: Set<String> = []
        for toxic in toxics {
            try checkName(of: toxic)
            guard names.insert(toxic.name).inserted else { throw APIError(.conflict, "toxic already exists: \(toxic.name)") }
        }
        return toxics
    }

    /// A proxy's name is one path segment of `/proxies/{proxy}`, so that
    /// every proxy the API accepts can be read and deleted again.
    private static func checkName(proxy name: String) throws(APIError) {
        if name.contains("/") || name == "." || name == ".." {
            throw .badRequest("proxy name '\(name)' is not allowed: a name holds no '/' and is not '.' or '..'")
        }
    }

    /// A toxic's name is one path segment of `/proxies/{proxy}/toxics/{toxic}`,
    /// so that every toxic the API accepts can be read and deleted again.
    private static func checkName(of toxic: Fault) throws(APIError) {
        if toxic.name.contains("/") || toxic.name == "." || toxic.name == ".." {
            throw .badRequest("toxic name '\(toxic.name)' is not allowed: a name holds no '/' and is not '.' or '..'")
        }
    }
}
