import ControlAPI
import Foundation
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The API as clients use it when things go wrong or happen at once:
/// parallel test workers creating the same proxy, a change the proxy
/// cannot take, names that need percent-encoding in a URL.
@Suite struct RegistryChangeTests {
    /// The TCP ports this process listens on (the registry runs in it):
    /// its socket descriptors' inodes matched with the kernel's table.
    static func listeningPorts() -> Set<UInt16> {
        var inodes: Set<String> = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name),
                  target.hasPrefix("socket:[") else { continue }
            inodes.insert(String(target.dropFirst(8).dropLast()))
        }
        var ports: Set<UInt16> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local_address rem_address st ... inode (field 9); 0A is LISTEN.
                guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])),
                      let port = UInt16(fields[1].split(separator: ":").last ?? "", radix: 16) else { continue }
                ports.insert(port)
            }
        }
        return ports
    }

    static func port(of listen: String?) -> UInt16? {
        listen.flatMap { UInt16($0.split(separator: ":").last ?? "") }
    }

    /// Twenty creates of one name at once: one proxy, one 201, nineteen 409s.
    @Test func concurrentCreatesOfOneNameMakeOneProxy() async throws {
        try await RouteHarness.with { _, client in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let reply = try await client.call(.post, "/proxies", #"{"name":"race","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}"#)
                        return (Int(reply.status.code), reply.object["listen"] as? String)
                    }
                }
                var all: [(Int, String?)] = []
                for try await reply in group { all.append(reply) }
                return all
            }
            #expect(statuses.filter { $0.0 == 201 }.count == 1, "\(statuses.map(\.0))")
            #expect(statuses.filter { $0.0 == 409 }.count == 19)
            let port = try #require(Self.port(of: statuses.first { $0.0 == 201 }?.1))
            #expect(Self.listeningPorts().contains(port))
            // Before, each extra 201 was a proxy of its own, listed nowhere, deleted one at a time.
            #expect(try await client.call(.delete, "/proxies/race").status == .noContent)
            #expect(try await client.call(.delete, "/proxies/race").status == .notFound)
            #expect(!Self.listeningPorts().contains(port))
        }
    }

    /// A change the proxy cannot take — an upstream no one knows, a port
    /// in use — is refused and leaves it running as it was.
    @Test func aFailedChangeLeavesTheProxyAsItWas() async throws {
        try await RouteHarness.with { _, client in
            let created = try await client.call(.post, "/proxies", #"{"name":"st","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}"#)
            let listen = try #require(created.object["listen"] as? String)
            let port = try #require(Self.port(of: listen))

            let unknown = try await client.call(.patch, "/proxies/st", #"{"upstream":"no-such-host.invalid:1"}"#)
            #expect(unknown.status == .badRequest)
            // A port another proxy holds.
            let other = try await client.call(.post, "/proxies", #"{"name":"other","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}"#)
            let taken = try #require(other.object["listen"] as? String)
            let moved = try await client.call(.patch, "/proxies/st", #"{"listen":"\#(taken)"}"#)
            #expect(moved.status == .internalServerError, "\(moved.body)")

            let now = try await client.call(.get, "/proxies/st")
            #expect(now.object["enabled"] as? Bool == true)
            #expect(now.object["listen"] as? String == listen)
            #expect(now.object["upstream"] as? String == "127.0.0.1:1")
            #expect(Self.listeningPorts().contains(port), "still listening where it was")
        }
    }

    /// Names with a space or beyond ASCII are reached percent-encoded, as
    /// clients send them; a name with '/' could never be, and is refused.
    @Test func percentEncodedNamesReachTheirProxiesAndToxics() async throws {
        try await RouteHarness.with { _, client in
            for (name, path) in [("sp ace", "sp%20ace"), ("café", "caf%C3%A9"), ("50%", "50%25")] {
                let created = try await client.call(.post, "/proxies", #"{"name":"\#(name)","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}"#)
                #expect(created.status == .created, "\(name)")
                #expect(try await client.call(.get, "/proxies/\(path)").object["name"] as? String == name)
                let toxic = try await client.call(.post, "/proxies/\(path)/toxics", #"{"name":"my toxic","type":"latency","attributes":{"latency":300}}"#)
                #expect(toxic.status == .ok, "\(toxic.body)")
                #expect(try await client.call(.get, "/proxies/\(path)/toxics/my%20toxic").object["name"] as? String == "my toxic")
                #expect(try await client.call(.delete, "/proxies/\(path)/toxics/my%20toxic").status == .noContent)
                #expect(try await client.call(.delete, "/proxies/\(path)").status == .noContent, "\(name)")
            }
            let slash = try await client.call(.post, "/proxies", #"{"name":"a/b","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}"#)
            #expect(slash.status == .badRequest)
            #expect(slash.body.contains(#"proxy name 'a/b' is not allowed"#), "\(slash.body)")
        }
    }
}
