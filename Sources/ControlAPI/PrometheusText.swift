import Foundation

/// Renders the proxies' counters in the Prometheus text exposition format
/// (version 0.0.4), one series per proxy, labelled `proxy="NAME"`.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(_ proxies: [(name: String, counters: ProxyCounters)]) -> String {
        var text = ""
        func family(_ metric: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Int)]) {
            text += "# HELP \(metric) \(help)\n# TYPE \(metric) \(type)\n"
            for sample in samples {
                text += "\(metric){\(sample.labels)} \(sample.value)\n"
            }
        }
        let label = { (name: String) in "proxy=\"\(escape(name))\"" }
        family("tapedeck_proxy_sessions_live", "gauge", "Sessions open now.", proxies.map { (label($0.name), $0.counters.liveSessions) })
        family("tapedeck_proxy_sessions_total", "counter", "Sessions accepted.", proxies.map { (label($0.name), $0.counters.totalSessions) })
        family("tapedeck_proxy_bytes_total", "counter", "Bytes forwarded; direction upstream is client to server.", proxies.flatMap {
            [
                (label($0.name) + ",direction=\"upstream\"", $0.counters.bytesClientToServer),
                (label($0.name) + ",direction=\"downstream\"", $0.counters.bytesServerToClient),
            ]
        })
        family("tapedeck_proxy_faults_fired_total", "counter", "Times a toxic acted on a connection.", proxies.map { (label($0.name), $0.counters.faultsFired) })
        family("tapedeck_proxy_upstream_failures_total", "counter", "Upstream connections that failed.", proxies.map { (label($0.name), $0.counters.upstreamFailures) })
        return text
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
