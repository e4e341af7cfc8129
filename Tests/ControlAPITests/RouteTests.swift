import ControlAPI
import Faults
import Foundation
import Hummingbird
import HummingbirdTesting
import Recording
import Testing

@Suite("Toxiproxy routes: status codes and JSON shapes")
struct RouteTests {
    @Test func versionReportsTapedecksVersion() async throws {
        try await RouteHarness.with { _, client in
            let reply = try await client.call(.get, "/version")
            #expect(reply.status == .ok)
            #expect(reply.object["version"] as? String == TapedeckVersion.current)
        }
    }

    @Test func proxyLifecycleAndErrors() async throws {
        try await RouteHarness.with { _, client in
            let created = try await client.call(.post, "/proxies", #"{"name":"redis","listen":"127.0.0.1:0","upstream":"localhost:6379"}"#)
            #expect(created.status == .created)
            #expect(created.object["name"] as? String == "redis")
            #expect(created.object["upstream"] as? String == "localhost:6379", "a host name is shown as given")
            #expect(created.object["enabled"] as? Bool == true)
            #expect((created.object["toxics"] as? [Any])?.isEmpty == true)
            let listen = try #require(created.object["listen"] as? String)
            #expect(listen.hasPrefix("127.0.0.1:") && listen != "127.0.0.1:0", "port 0 is reported resolved")

            let list = try await client.call(.get, "/proxies")
            #expect(list.status == .ok)
            #expect((list.object["redis"] as? [String: Any])?["listen"] as? String == listen)

            #expect(try await client.call(.post, "/proxies", #"{"name":"redis","upstream":"127.0.0.1:1"}"#).status == .conflict)
            let missing = try await client.call(.post, "/proxies", #"{"upstream":"127.0.0.1:1"}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.error == "missing required field: name")
            #expect(missing.object["status"] as? Int == 400)
            let noUpstream = try await client.call(.post, "/proxies", #"{"name":"x"}"#)
            #expect(noUpstream.error == "missing required field: upstream")
            // RFC 6761: no name under .invalid resolves.
            let hostname = try await client.call(.post, "/proxies", #"{"name":"x","upstream":"no-such-host.invalid:80"}"#)
            #expect(hostname.status == .badRequest)
            #expect(hostname.error?.hasPrefix("cannot resolve upstream no-such-host.invalid:80: ") == true, "\(hostname.body)")
            let namedListener = try await client.call(.post, "/proxies", #"{"name":"x","listen":"api.internal:80","upstream":"127.0.0.1:1"}"#)
            #expect(namedListener.status == .badRequest)
            #expect(namedListener.error?.contains("'api.internal' is a host name") == true, "\(namedListener.body)")

            let taken = try await client.call(.post, "/proxies", #"{"name":"other","listen":"\#(listen)","upstream":"127.0.0.1:1"}"#)
            #expect(taken.status == .internalServerError)
            #expect(taken.error?.lowercased().contains("address already in use") == true, "the bind error: \(taken.body)")

            let disabled = try await client.call(.patch, "/proxies/redis", #"{"enabled":false}"#)
            #expect(disabled.status == .ok)
            #expect(disabled.object["enabled"] as? Bool == false)
            #expect(disabled.object["listen"] as? String == listen)
            let enabled = try await client.call(.post, "/proxies/redis", #"{"enabled":true}"#)
            #expect(enabled.object["enabled"] as? Bool == true)
            #expect(enabled.object["listen"] as? String == listen, "re-enabled on the same port")

            #expect(try await client.call(.get, "/proxies/redis").object["name"] as? String == "redis")
            #expect(try await client.call(.delete, "/proxies/redis").status == .noContent)
            let gone = try await client.call(.get, "/proxies/redis")
            #expect(gone.status == .notFound)
            #expect(gone.error == "proxy not found")
            #expect(try await client.call(.delete, "/proxies/redis").status == .notFound)
        }
    }

    @Test func toxicsCRUDWithToxiproxyDefaults() async throws {
        try await RouteHarness.with { _, client in
            _ = try await client.call(.post, "/proxies", #"{"name":"db","upstream":"127.0.0.1:5432"}"#)
            let added = try await client.call(.post, "/proxies/db/toxics", #"{"type":"latency","attributes":{"latency":100}}"#)
            #expect(added.status == .ok)
            #expect(added.object["name"] as? String == "latency_downstream")
            #expect(added.object["stream"] as? String == "downstream")
            #expect(added.object["toxicity"] as? Double == 1)
            #expect((added.object["attributes"] as? [String: Any])?["latency"] as? Int == 100)

            let duplicate = try await client.call(.post, "/proxies/db/toxics", #"{"name":"latency_downstream","type":"latency","stream":"upstream"}"#)
            #expect(duplicate.status == .conflict, "toxic names are unique across streams")
            let unknown = try await client.call(.post, "/proxies/db/toxics", #"{"type":"nonsense"}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.error?.contains("nonsense") == true)
            let badStream = try await client.call(.post, "/proxies/db/toxics", #"{"type":"latency","stream":"sideways"}"#)
            #expect(badStream.status == .badRequest)
            #expect(try await client.call(.post, "/proxies/nope/toxics", #"{"type":"latency"}"#).status == .notFound)

            let list = try await client.call(.get, "/proxies/db/toxics")
            #expect(list.array.map { $0["name"] as? String } == ["latency_downstream"])
            #expect((try await client.call(.get, "/proxies/db").object["toxics"] as? [Any])?.count == 1)

            let patched = try await client.call(.patch, "/proxies/db/toxics/latency_downstream", #"{"attributes":{"jitter":10},"toxicity":0.5}"#)
            #expect(patched.status == .ok)
            let attributes = patched.object["attributes"] as? [String: Any]
            #expect(attributes?["latency"] as? Int == 100, "attributes not given are kept")
            #expect(attributes?["jitter"] as? Int == 10)
            #expect(patched.object["toxicity"] as? Double == 0.5)
            #expect(try await client.call(.patch, "/proxies/db/toxics/latency_downstream", #"{"toxicity":2}"#).status == .badRequest)

            #expect(try await client.call(.get, "/proxies/db/toxics/latency_downstream").object["name"] as? String == "latency_downstream")
            #expect(try await client.call(.delete, "/proxies/db/toxics/latency_downstream").status == .noContent)
            let gone = try await client.call(.get, "/proxies/db/toxics/latency_downstream")
            #expect(gone.status == .notFound)
            #expect(gone.error == "toxic not found")
            #expect(try await client.call(.delete, "/proxies/db/toxics/latency_downstream").status == .notFound)
        }
    }

    /// What `tapedeck ctl` reads: Tapedeck's answers, and Toxiproxy's, whose
    /// toxics may be of a type Tapedeck does not have.
    @Test func proxyViewsReadBack() async throws {
        try await RouteHarness.with { _, client in
            _ = try await client.call(.post, "/proxies", #"{"name":"db","upstream":"127.0.0.1:1"}"#)
            _ = try await client.call(.post, "/proxies/db/toxics", #"{"type":"latency","attributes":{"latency":100}}"#)
            let listed = try await client.call(.get, "/proxies")
            let proxies = try JSONDecoder().decode([String: ProxyView].self, from: Data(listed.body.utf8))
            #expect(proxies["db"]?.upstream == "127.0.0.1:1")
            #expect(proxies["db"]?.toxics == [FaultDefinition(try Fault(.latency(latency: .milliseconds(100))))])
        }
        let toxiproxy = #"{"name":"redis","listen":"127.0.0.1:26379","upstream":"127.0.0.1:6379","enabled":true,"toxics":[{"attributes":{"foo":1},"name":"custom","type":"chaos","stream":"downstream","toxicity":1}]}"#
        let view = try JSONDecoder().decode(ProxyView.self, from: Data(toxiproxy.utf8))
        #expect(view.toxics.map(\.type) == ["chaos"])
    }

    @Test(arguments: [
        ("not json", "not valid JSON"),
        (#"{"name":5,"upstream":"127.0.0.1:1"}"#, "\"name\" must be a string"),
        (#"{"name":"a","upstream":"127.0.0.1:1","enabled":"yes"}"#, "\"enabled\" must be a boolean"),
        (#"[1,2]"#, "JSON object"),
        (#"{"name":"a","upstream":"nowhere"}"#, "upstream"),
        (#"{"name":"a","upstream":"127.0.0.1:1","toxics":[{"type":"bandwidth"}]}"#, "rate"),
    ])
    func badBodiesAreExplained(body: String, says: String) async throws {
        try await RouteHarness.with { _, client in
            let reply = try await client.call(.post, "/proxies", body)
            #expect(reply.status == .badRequest)
            #expect(reply.error?.contains(says) == true, "\(reply.body)")
        }
    }

    @Test func browserRequestsAreRefused() async throws {
        try await RouteHarness.with { _, client in
            let reply = try await client.call(.get, "/proxies", headers: [.userAgent: "Mozilla/5.0 (X11; Linux x86_64)"])
            #expect(reply.status == .forbidden)
            #expect(reply.object["status"] as? Int == 403)
            #expect(try await client.call(.get, "/proxies", headers: [.userAgent: "curl/8.0"]).status == .ok)
        }
    }

    @Test func populateChecksFirstThenCreatesInOrder() async throws {
        try await RouteHarness.with { _, client in
            let invalid = try await client.call(.post, "/populate", #"[{"name":"a","upstream":"127.0.0.1:1"},{"name":"b"}]"#)
            #expect(invalid.status == .badRequest)
            #expect(invalid.error == "missing required field: upstream at proxy 2")
            #expect(try await client.call(.get, "/proxies").object.isEmpty, "nothing is created")

            let body = #"[{"name":"a","upstream":"127.0.0.1:1"},{"name":"b","upstream":"unix:/tmp/b.sock","toxics":[{"type":"latency","attributes":{"latency":5}}]}]"#
            let populated = try await client.call(.post, "/populate", body)
            #expect(populated.status == .created)
            let proxies = try #require(populated.object["proxies"] as? [[String: Any]])
            #expect(proxies.map { $0["name"] as? String } == ["a", "b"])
            #expect(proxies[1]["upstream"] as? String == "unix:/tmp/b.sock")
            #expect((proxies[1]["toxics"] as? [Any])?.count == 1)
            let again = try await client.call(.post, "/populate", body)
            #expect(again.status == .created)
            #expect((again.object["proxies"] as? [[String: Any]])?.map { $0["listen"] as? String } == proxies.map { $0["listen"] as? String }, "unchanged proxies are kept")
            #expect(try await client.call(.post, "/populate", #"{"name":"a"}"#).status == .badRequest)
        }
    }

    @Test func resetEnablesEveryProxyAndRemovesEveryToxic() async throws {
        try await RouteHarness.with { _, client in
            _ = try await client.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:1","enabled":false}"#)
            _ = try await client.call(.post, "/proxies", #"{"name":"b","upstream":"127.0.0.1:1"}"#)
            _ = try await client.call(.post, "/proxies/b/toxics", #"{"type":"timeout","attributes":{"timeout":0}}"#)
            #expect(try await client.call(.post, "/reset").status == .noContent)
            let proxies = try await client.call(.get, "/proxies").object
            #expect((proxies["a"] as? [String: Any])?["enabled"] as? Bool == true)
            #expect(((proxies["b"] as? [String: Any])?["toxics"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func metricsArePrometheusTextPerProxy() async throws {
        try await RouteHarness.with { _, client in
            _ = try await client.call(.post, "/proxies", #"{"name":"cache","upstream":"127.0.0.1:1"}"#)
            let reply = try await client.call(.get, "/metrics")
            #expect(reply.status == .ok)
            #expect(reply.body.contains("# TYPE tapedeck_proxy_sessions_total counter"))
            #expect(reply.body.contains(#"tapedeck_proxy_bytes_total{proxy="cache",direction="upstream"} 0"#))
            #expect(reply.body.contains(#"tapedeck_proxy_upstream_failures_total{proxy="cache"} 0"#))
            #expect(reply.body.contains(#"tapedeck_proxy_faults_fired_total{proxy="cache"} 0"#))
        }
    }
}
