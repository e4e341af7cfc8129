import ControlAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Recording
import TapedeckTestSupport
import Testing

@Suite("What the API refuses: foreign pages, missing tokens, paths outside its folder, names it could not delete")
struct APIAccessTests {
    @Test(arguments: [
        (["Host": "evil.example"], "Host 'evil.example'"),
        (["Host": "evil.example:8474"], "Host 'evil.example:8474'"),
        (["Origin": "http://evil.example"], "cross-origin"),
        (["Origin": "null"], "cross-origin"),
        (["Sec-Fetch-Site": "cross-site"], "cross-site"),
        (["Sec-Fetch-Site": "same-site"], "cross-site"),
        (["User-Agent": "Mozilla/5.0"], "from a browser"),
    ])
    func requestsABrowserPageCouldSendAreRefused(headers: [String: String], says: String) async throws {
        try await RouteHarness.with { harness, client in
            var fields = HTTPFields()
            for (name, value) in headers { fields[HTTPFields.Element.Name(name)!] = value }
            let reply = try await client.call(.post, "/proxies", #"{"name":"p","upstream":"127.0.0.1:1"}"#, headers: fields)
            #expect(reply.status == .forbidden, "\(reply.body)")
            #expect(reply.error?.contains(says) == true, "\(reply.body)")
            #expect(try await client.call(.get, "/proxies").body == "{}", "nothing was created")
        }
    }

    @Test func addressesLocalhostAndConfiguredNamesAreAccepted() async throws {
        try await RouteHarness.with(access: APIAccess(hostNames: ["tapedeck.internal"])) { _, client in
            for host in ["127.0.0.1:8474", "localhost:8474", "[::1]:8474", "10.1.2.3", "Tapedeck.Internal:80"] {
                let reply = try await client.call(.get, "/version", headers: [HTTPFields.Element.Name("Host")!: host])
                #expect(reply.status == .ok, "Host \(host): \(reply.body)")
            }
            let sameOrigin = try await client.call(.get, "/version", headers: [.origin: "http://localhost", HTTPFields.Element.Name("Sec-Fetch-Site")!: "same-origin"])
            #expect(sameOrigin.status == .ok, "\(sameOrigin.body)")
        }
    }

    @Test func aTokenIsRequiredAsBearerOrAsABasicPassword() async throws {
        try await RouteHarness.with(access: APIAccess(token: "s3cret")) { _, client in
            let missing = try await client.call(.get, "/proxies")
            #expect(missing.status == .unauthorized)
            #expect(missing.error?.contains("API token") == true, "\(missing.body)")
            #expect(try await client.call(.get, "/proxies", headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            #expect(try await client.call(.get, "/proxies", headers: [.authorization: "Bearer s3cre"]).status == .unauthorized)
            #expect(try await client.call(.get, "/proxies", headers: [.authorization: "Bearer s3cret"]).status == .ok)
            let basic = "Basic " + Data("tapedeck:s3cret".utf8).base64EncodedString()
            #expect(try await client.call(.get, "/proxies", headers: [.authorization: basic]).status == .ok)
        }
    }

    @Test(arguments: ["a/b", "../x", "..", "."])
    func aToxicNameThatIsNotOnePathSegmentIsRefused(name: String) async throws {
        try await RouteHarness.with { _, client in
            _ = try await client.createProxy("p", upstream: .ip(.loopbackV4, port: 1))
            let added = try await client.call(.post, "/proxies/p/toxics", #"{"name":"\#(name)","type":"latency","attributes":{"latency":1}}"#)
            #expect(added.status == .badRequest, "\(added.body)")
            #expect(added.error?.contains("toxic name '\(name)' is not allowed") == true, "\(added.body)")
            #expect(try await client.call(.get, "/proxies/p/toxics").body == "[]")
            let created = try await client.call(.post, "/proxies", #"{"name":"q","upstream":"127.0.0.1:1","toxics":[{"name":"\#(name)","type":"latency"}]}"#)
            #expect(created.status == .badRequest, "\(created.body)")
        }
    }

    @Test func recordingsStayInTheirFolderAndReplaceNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let outside = try TemporaryDirectory()
        defer { outside.remove() }
        let recordings = directory.file("recordings")
        let outsidePath = outside.path, directoryPath = directory.path
        try FileManager.default.createDirectory(atPath: recordings, withIntermediateDirectories: false)
        let existing = recordings + "/existing.pcap"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        try await RouteHarness.with(recordings: recordings) { _, client in
            _ = try await client.createProxy("p", upstream: .ip(.loopbackV4, port: 1))
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"path":"\#(outsidePath)/abs.pcap"}"#, .badRequest, "must be a file name inside the recordings directory \(recordings)"),
                (#"{"path":"../escape.pcap"}"#, .badRequest, "without '/' or '..'"),
                (#"{"per_session_dir":"../escape"}"#, .badRequest, "without '/' or '..'"),
                (#"{"path":"existing.pcap"}"#, .conflict, "path \(existing): an earlier recording is there (\(existing)); send \"overwrite\": true to replace it, or choose another name"),
                (#"{"per_session_dir":"existing.pcap"}"#, .conflict, "exists already"),
            ]
            for (body, status, says) in cases {
                let reply = try await client.call(.post, "/proxies/p/recording", body)
                #expect(reply.status == status, "\(body): \(reply.body)")
                #expect(reply.error?.contains(says) == true, "\(body): \(reply.body)")
            }
            #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
            #expect(try FileManager.default.contentsOfDirectory(atPath: recordings) == ["existing.pcap"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: outsidePath).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directoryPath) == ["recordings"])

            let started = try await client.call(.post, "/proxies/p/recording", #"{"path":"new.pcap"}"#)
            #expect(started.status == .created, "\(started.body)")
            #expect(started.object["path"] as? String == recordings + "/new.pcap")
            #expect(try await client.call(.delete, "/proxies/p/recording").status == .ok)
            #expect(FileManager.default.fileExists(atPath: recordings + "/new.pcap"))
        }
    }

    /// An earlier recording — a plain file with its manifest, or any file
    /// of a rotated set — is refused as `tapedeck record` refuses it, and
    /// replaced, every file of it, when the request says `overwrite`.
    @Test func anEarlierRecordingIsReplacedOnlyWhenAsked() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recordings = directory.path
        for name in ["plain.pcap.json", "set_00000.pcap", "set_00001.pcap", "set_00001.pcap.json"] {
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: recordings + "/" + name))
        }
        try await RouteHarness.with(recordings: recordings) { _, client in
            _ = try await client.createProxy("p", upstream: .ip(.loopbackV4, port: 1))
            let refusals: [(String, String)] = [
                (#"{"path":"plain.pcap"}"#, "/plain.pcap.json)"),
                (#"{"path":"set.pcap","rotate_bytes":1000000}"#, "/set_00000.pcap and 2 more)"),
            ]
            for (body, names) in refusals {
                let reply = try await client.call(.post, "/proxies/p/recording", body)
                #expect(reply.status == .conflict, "\(body): \(reply.body)")
                #expect(reply.error?.contains("\(names); send \"overwrite\": true to replace it") == true, "\(body): \(reply.body)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: recordings).count == 4, "nothing was touched")

            let replaced = try await client.call(.post, "/proxies/p/recording", #"{"path":"set.pcap","rotate_bytes":1000000,"overwrite":true}"#)
            #expect(replaced.status == .created, "\(replaced.body)")
            #expect(try await client.call(.delete, "/proxies/p/recording").status == .ok)
            let left = try FileManager.default.contentsOfDirectory(atPath: recordings).sorted()
            #expect(left == ["plain.pcap.json", "set_00000.pcap", "set_00000.pcap.json"], "the old set is gone, the new one is there")
            #expect(try Manifest.load(forRecording: recordings + "/set_00000.pcap")?.sessions == [])
        }
    }
}
