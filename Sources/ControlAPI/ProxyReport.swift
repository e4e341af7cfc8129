import Foundation
import Hummingbird
import PcapFile
import Proxy
import Recording
import Report

/// What `GET /proxies/{name}/report` is made of (see `ProxyRegistry.reportSources`).
struct ReportSources: Sendable {
    var proxy: ProxyView
    /// The proxy's recording so far: the file it is writing (or, per
    /// session, every file of its folder).
    var files: [String]
    /// Sessions open now that those files do not hold.
    var unrecorded: [LiveSession]
}

/// The report page of a live proxy: the sessions its recording holds so far
/// (those still going drawn as still open) and the open sessions it does not
/// hold, refreshed by the page itself every `refreshSeconds`.
enum ProxyReport {
    static let refreshSeconds = 3

    /// Reads the recording so far, off the actor's and event loops' threads.
    static func data(_ sources: ReportSources) async -> ReportData {
        await withCheckedContinuation { (continuation: CheckedContinuation<ReportData, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: build(sources))
            }
        }
    }

    static func build(_ sources: ReportSources, now: Timestamp = .now()) -> ReportData {
        var collector = ReportCollector()
        collector.openSessionsEndAt = now
        var options = ReportOptions(title: "proxy \(sources.proxy.name): \(sources.proxy.listen) → \(sources.proxy.upstream)", files: sources.files, refreshSeconds: refreshSeconds)
        if !sources.files.isEmpty {
            do {
                // The file being written ends part-way through a record now and then: read up to it.
                try RecordingReader(paths: sources.files).read { collector.take($0) }
            } catch {
                options.warnings.append("reading the recording so far: \(error)")
            }
        } else {
            options.warnings.append("The proxy records nothing now: only its open sessions are shown, without their bytes. Start a recording (tapedeck ctl record start \(sources.proxy.name), or POST /proxies/\(sources.proxy.name)/recording) to see every session and its exchanges.")
        }
        collector.finishOpenSessions()
        var index = collector.lastIndex + 1
        for live in sources.unrecorded {
            let session = Session(index: index, id: live.id, client: live.client, server: live.upstream, opened: live.opened)
            var tally = SessionTally(session: session, checksums: [])
            tally.setFaults([])
            var summary = tally.summary(end: .open, closedAt: now)
            summary.clientToServer.bytes = live.bytesClientToServer
            summary.serverToClient.bytes = live.bytesServerToClient
            collector.add(summary)
            index += 1
        }
        return collector.data(options)
    }

    static func response(_ sources: ReportSources, json: Bool) async throws -> Response {
        let data = await data(sources)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(data))))
        }
        let page = try ReportPage.render(data)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}
