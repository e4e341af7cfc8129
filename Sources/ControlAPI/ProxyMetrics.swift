import CoreMetrics
import Prometheus

/// The proxies' metrics in the Prometheus text exposition format (0.0.4),
/// labelled `proxy="NAME"`, through swift-metrics backed by swift-prometheus.
///
/// The registry is this object's own (the global `MetricsSystem` is left
/// alone, so several servers can live in one process). The proxies count
/// with atomics on their event loops; a scrape copies those counts into the
/// swift-metrics counters and gauges, then renders the registry.
final class ProxyMetrics {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every family: its help text and whether it is a gauge.
    private static let families: [String: (help: String, gauge: Bool)] = [
        "tapedeck_proxy_sessions_live": ("Sessions open now.", true),
        "tapedeck_proxy_sessions_total": ("Sessions accepted (both legs connected).", false),
        "tapedeck_proxy_bytes_total": ("Bytes forwarded; direction upstream is client to server.", false),
        "tapedeck_proxy_faults_fired_total": ("Toxics that acted on a connection, each counted once per connection.", false),
        "tapedeck_proxy_upstream_failures_total": ("Upstream connections that failed.", false),
        "tapedeck_proxy_spliced_bytes_total": ("Of the bytes forwarded both ways, those moved outside NIO on the splice path (splice(2), or read and write for small reads).", false),
        "tapedeck_proxy_tls_failures_total": ("TLS handshakes that failed, with the client or the upstream.", false),
        "tapedeck_proxy_recording": ("1 while the proxy records its sessions.", true),
        "tapedeck_proxy_recorded_bytes_total": ("Bytes written to the proxy's recordings (pcap headers included).", false),
        "tapedeck_proxy_unrecorded_bytes_total": ("Payload the proxy's recordings lost because writing failed (a full disk).", false),
    ]

    let registry = PrometheusCollectorRegistry()
    private let factory: DescribedMetricsFactory
    private var series: [String: Series] = [:]

    init() {
        factory = DescribedMetricsFactory(registry: registry, help: Self.families.mapValues(\.help))
    }

    /// Updates every proxy's series (and drops those of deleted proxies), then renders them.
    func render(_ proxies: [(name: String, counters: ProxyCounters)]) -> String {
        let names = Set(proxies.map(\.name))
        for (name, gone) in series where !names.contains(name) {
            gone.destroy()
            series[name] = nil
        }
        for (name, counters) in proxies {
            var current = series[name] ?? Series(proxy: name, factory: factory)
            current.update(counters)
            series[name] = current
        }
        return registry.emitToString()
    }

    /// One proxy's metrics.
    private struct Series {
        let live: CoreMetrics.Gauge
        let total: CoreMetrics.Counter
        let upstreamBytes: CoreMetrics.Counter
        let downstreamBytes: CoreMetrics.Counter
        let faultsFired: CoreMetrics.Counter
        let upstreamFailures: CoreMetrics.Counter
        let tlsFailures: CoreMetrics.Counter
        let splicedBytes: CoreMetrics.Counter
        let recording: CoreMetrics.Gauge
        let recordedBytes: CoreMetrics.Counter
        let unrecordedBytes: CoreMetrics.Counter
        var reported = ProxyCounters()

        init(proxy: String, factory: MetricsFactory) {
            let label = [("proxy", proxy)]
            live = CoreMetrics.Gauge(label: "tapedeck_proxy_sessions_live", dimensions: label, factory: factory)
            total = CoreMetrics.Counter(label: "tapedeck_proxy_sessions_total", dimensions: label, factory: factory)
            upstreamBytes = CoreMetrics.Counter(label: "tapedeck_proxy_bytes_total", dimensions: label + [("direction", "upstream")], factory: factory)
            downstreamBytes = CoreMetrics.Counter(label: "tapedeck_proxy_bytes_total", dimensions: label + [("direction", "downstream")], factory: factory)
            faultsFired = CoreMetrics.Counter(label: "tapedeck_proxy_faults_fired_total", dimensions: label, factory: factory)
            upstreamFailures = CoreMetrics.Counter(label: "tapedeck_proxy_upstream_failures_total", dimensions: label, factory: factory)
            tlsFailures = CoreMetrics.Counter(label: "tapedeck_proxy_tls_failures_total", dimensions: label, factory: factory)
            splicedBytes = CoreMetrics.Counter(label: "tapedeck_proxy_spliced_bytes_total", dimensions: label, factory: factory)
            recording = CoreMetrics.Gauge(label: "tapedeck_proxy_recording", dimensions: label, factory: factory)
            recordedBytes = CoreMetrics.Counter(label: "tapedeck_proxy_recorded_bytes_total", dimensions: label, factory: factory)
            unrecordedBytes = CoreMetrics.Counter(label: "tapedeck_proxy_unrecorded_bytes_total", dimensions: label, factory: factory)
        }

        /// Counters move by the difference since the last scrape.
        mutating func update(_ counters: ProxyCounters) {
            func advance(_ counter: CoreMetrics.Counter, from old: Int, to new: Int) {
                if new < old { counter.reset() }
                counter.increment(by: new < old ? new : new - old)
            }
            live.record(counters.liveSessions)
            recording.record(counters.recording ? 1 : 0)
            advance(total, from: reported.totalSessions, to: counters.totalSessions)
            advance(upstreamBytes, from: reported.bytesClientToServer, to: counters.bytesClientToServer)
            advance(downstreamBytes, from: reported.bytesServerToClient, to: counters.bytesServerToClient)
            advance(faultsFired, from: reported.faultsFired, to: counters.faultsFired)
            advance(upstreamFailures, from: reported.upstreamFailures, to: counters.upstreamFailures)
            advance(tlsFailures, from: reported.tlsFailures, to: counters.tlsFailures)
            advance(splicedBytes, from: reported.bytesSpliced, to: counters.bytesSpliced)
            advance(recordedBytes, from: reported.recordedBytes, to: counters.recordedBytes)
            advance(unrecordedBytes, from: reported.unrecordedBytes, to: counters.unrecordedBytes)
            reported = counters
        }

        func destroy() {
            for counter in [total, upstreamBytes, downstreamBytes, faultsFired, upstreamFailures, tlsFailures, splicedBytes, recordedBytes, unrecordedBytes] {
                counter.destroy()
            }
            live.destroy()
            recording.destroy()
        }
    }
}

/// `PrometheusMetricsFactory` with a `# HELP` line for each known family
/// (swift-metrics has no help text of its own).
private struct DescribedMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let help: [String: String]
    private let base: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry, help: [String: String]) {
        self.registry = registry
        self.help = help
        self.base = PrometheusMetricsFactory(registry: registry)
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        guard !aggregate else { return base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate) }
        return registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        base.makeTimer(label: label, dimensions: dimensions)
    }

    func destroyCounter(_ handler: CounterHandler) { base.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: RecorderHandler) { base.destroyRecorder(handler) }
    func destroyMeter(_ handler: MeterHandler) { base.destroyMeter(handler) }
    func destroyTimer(_ handler: TimerHandler) { base.destroyTimer(handler) }
}
