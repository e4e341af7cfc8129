import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sockets and names as a user meets them with the real `tapedeck`: a
/// second instance on a live Unix socket, upstreams and drive targets given
/// by host name, and every failure said in one line naming the address,
/// path or option and the cause.
@Suite(.serialized) struct SocketsAndNamesTests {
    /// True when `name` resolves on this machine (`ip6-localhost` is in
    /// Debian's /etc/hosts, but not in every container's).
    static func resolves(_ name: String) -> Bool {
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, nil, &list) == 0 else { return false }
        freeaddrinfo(list)
        return true
    }

    /// `tapedeck sample-server` listening on `listen`, and its endpoint.
    static func echoServer(listen: String) throws -> (process: BackgroundProcess, endpoint: Endpoint) {
        let process = try BackgroundProcess(try TapedeckExecutable.located.get(), ["sample-server", "--listen", listen])
        let line = try process.waitForLine(containing: "echo server listening on ")
        return (process, try Endpoint(parsing: String(line.split(separator: " ").last ?? "")))
    }

    // MARK: Item 4: a live Unix socket

    @Test func aSecondInstanceOnALiveUnixSocketIsRefusedAndTheFirstStillAnswers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let path = directory.file("proxy.sock")
        let recording = directory.file("first.pcap")
        let (first, listen) = try TapedeckProcess.proxy(["record", "--listen", "unix:\(path)", "--upstream", upstream.endpoint, "-w", recording, "--quiet"])
        defer { if first.process.isRunning { first.stop() } }
        #expect(try await BlockingClient.exchange(listen, send: Array("before".utf8), halfClose: true) == Array("before".utf8))

        // Started again by mistake, with the same socket and the same file.
        let second = try TapedeckBinary.run(["record", "--listen", "unix:\(path)", "--upstream", upstream.endpoint, "-w", recording, "--quiet"])

        #expect(second.status == 2 && !second.crashed, "\(second.standardError)")
        #expect(second.errorLines == ["tapedeck: cannot listen on unix:\(path): already in use by a running process"])
        #expect(FileManager.default.fileExists(atPath: path), "the live socket file is still there")
        #expect(try await BlockingClient.exchange(listen, send: Array("after".utf8), halfClose: true) == Array("after".utf8))
        first.signal(SIGTERM)
        #expect(try first.waitForExit() == 0)
        let sessions = try TapedeckBinary.inspectJSON([recording])
        #expect(sessions.map(\.clientToServer.bytes) == [6, 5], "the first instance's recording is whole, with no session of the second's making")
    }

    @Test func aStaleUnixSocketLeftByAKilledInstanceIsReplaced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let path = directory.file("proxy.sock")
        let (killed, _) = try TapedeckProcess.proxy(["proxy", "--listen", "unix:\(path)", "--upstream", upstream.endpoint, "--quiet"])
        killed.signal(SIGKILL)
        _ = try killed.waitForExit()
        #expect(FileManager.default.fileExists(atPath: path))

        let (next, listen) = try TapedeckProcess.proxy(["proxy", "--listen", "unix:\(path)", "--upstream", upstream.endpoint, "--quiet"])
        defer { next.stop() }

        #expect(try await BlockingClient.exchange(listen, send: Array("hello".utf8), halfClose: true) == Array("hello".utf8))
    }

    // MARK: Item 9: host names

    @Test func anUpstreamGivenAsLocalhostIsResolvedAndRecordedByAddress() async throws {
        try await Self.recordThroughNamedUpstream("localhost", upstreamListen: "127.0.0.1:0")
    }

    @Test(.enabled(if: resolves("ip6-localhost"), "ip6-localhost is not in this machine's /etc/hosts"))
    func anUpstreamGivenAsIP6LocalhostIsResolvedAndRecordedByAddress() async throws {
        try await Self.recordThroughNamedUpstream("ip6-localhost", upstreamListen: "[::1]:0")
    }

    /// Records two sessions through `tapedeck record --upstream NAME:PORT`
    /// in front of an echo server listening on `upstreamListen`.
    static func recordThroughNamedUpstream(_ name: String, upstreamListen: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try echoServer(listen: upstreamListen)
        defer { upstream.process.stop() }
        let port = try #require(upstream.endpoint.port)
        let recording = directory.file("named.pcap")
        let (proxy, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", "\(name):\(port)", "-w", recording, "--quiet"])

        for message in ["first", "second"] {
            #expect(try await BlockingClient.exchange(listen, send: Array(message.utf8), halfClose: true) == Array(message.utf8))
        }
        proxy.signal(SIGTERM)
        #expect(try proxy.waitForExit() == 0)

        let resolved = proxy.outputLines.first { $0.contains("upstream resolved") }
        #expect(resolved?.contains("upstream.address=\(name):\(port)") == true, "\(proxy.outputLines)")
        #expect(resolved?.contains(upstream.endpoint.description) == true, "the addresses found are logged: \(resolved ?? "none")")
        let sessions = try TapedeckBinary.inspectJSON([recording])
        #expect(sessions.map(\.server) == [upstream.endpoint.description, upstream.endpoint.description], "the recording holds the address connected to")
    }

    @Test func replayDriveTakesATargetByHostName() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let recording = directory.file("echo.pcap")
        let (proxy, listen) = try TapedeckProcess.proxy(["record", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "-w", recording, "--quiet"])
        #expect(try await BlockingClient.exchange(listen, send: Array("replay me".utf8), halfClose: true) == Array("replay me".utf8))
        proxy.signal(SIGTERM)
        #expect(try proxy.waitForExit() == 0)
        let port = try #require(try Endpoint(parsing: upstream.endpoint).port)
        let replayed = directory.file("replayed.pcap")

        let result = try TapedeckBinary.run(["replay", "drive", recording, "--target", "localhost:\(port)", "--strict", "--quiet", "-w", replayed])

        #expect(result.status == 0, "\(result.standardError)")
        #expect(String(decoding: result.standardOutput, as: UTF8.self).contains("mismatches 0"))
        #expect(result.standardError.contains("target resolved"), "\(result.standardError)")
        #expect(try TapedeckBinary.inspectJSON([replayed]).map(\.server) == ["127.0.0.1:\(port)"])
    }

    @Test func aProxyNamesAnUpstreamNoOneKnows() throws {
        // RFC 6761: no name under .invalid resolves.
        let result = try TapedeckBinary.run(["proxy", "--listen", "127.0.0.1:0", "--upstream", "no-such-host.invalid:80", "--quiet"])

        #expect(result.status == 2 && !result.crashed, "\(result.standardError)")
        #expect(result.errorLines.last?.hasPrefix("tapedeck: cannot resolve upstream no-such-host.invalid:80: ") == true, "\(result.standardError)")
    }

    // MARK: Item 12: errors in the user's words

    @Test func aTakenAddressIsNamedInTheBindError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let holder = try TapedeckProcess.sampleServer()
        defer { holder.process.stop() }

        for command in [["proxy"], ["record", "-w", directory.file("x.pcap")]] {
            let result = try TapedeckBinary.run(command + ["--listen", holder.endpoint, "--upstream", "127.0.0.1:9", "--quiet"])

            #expect(result.status == 2 && !result.crashed, "\(result.standardError)")
            #expect(result.errorLines == ["tapedeck: cannot listen on \(holder.endpoint): address already in use"])
        }
        let serve = try TapedeckBinary.run(["replay", "serve", Fixture.packageRoot.appendingPathComponent("Recordings/redis.pcap").path, "--listen", holder.endpoint])
        #expect(serve.errorLines == ["tapedeck: cannot listen on \(holder.endpoint): address already in use"], "\(serve.standardError)")
    }

    @Test func aUnixPathTooLongSaysHowLongItIs() throws {
        let path = "/tmp/" + String(repeating: "p", count: 120) + ".sock"
        let limit = "a Unix socket path may have at most"

        let listen = try TapedeckBinary.run(["proxy", "--listen", "unix:\(path)", "--upstream", "127.0.0.1:9"])
        #expect(listen.status != 0 && !listen.crashed)
        #expect(listen.standardError.contains("the path is \(path.utf8.count) bytes long; \(limit)"), "\(listen.standardError)")
        #expect(!listen.standardError.contains("unixDomainSocketPathTooLong"))

        let upstream = try TapedeckBinary.run(["proxy", "--listen", "127.0.0.1:0", "--upstream", "unix:\(path)", "--quiet"])
        #expect(upstream.status == 2 && !upstream.crashed)
        #expect(upstream.errorLines.last?.hasPrefix("tapedeck: upstream unix:\(path): the path is \(path.utf8.count) bytes long; \(limit)") == true, "\(upstream.standardError)")

        let target = try TapedeckBinary.run(["replay", "drive", Fixture.packageRoot.appendingPathComponent("Recordings/redis.pcap").path, "--target", "unix:\(path)", "--quiet"])
        #expect(target.status == 2 && !target.crashed)
        #expect(target.errorLines.last?.hasPrefix("tapedeck: target unix:\(path): the path is \(path.utf8.count) bytes long") == true, "\(target.standardError)")
    }

    @Test func aListenerThatIsAHostNameIsRefusedBeforeStarting() throws {
        let result = try TapedeckBinary.run(["proxy", "--listen", "api.internal:80", "--upstream", "127.0.0.1:9"])
        #expect(result.status != 0 && !result.crashed)
        #expect(result.standardError.contains("'api.internal' is a host name; a listener takes an IP address"), "\(result.standardError)")
    }

    @Test(arguments: [
        (["-C", "-1"], "a size cannot be negative"),
        (["-G", "-5s"], "a duration cannot be negative"),
        (["-W", "-3", "-C", "1MB"], "-W needs a positive number of files"),
        (["--latency", "-5ms"], "a duration cannot be negative"),
        (["--drop", "-0.5"], "--drop -0.5 is out of range: a probability cannot be negative"),
        (["--unix-port", "-1"], "the number cannot be negative"),
        (["--connect-timeout", "-1s"], "a duration cannot be negative"),
    ])
    func aNegativeValueIsNamedNotMissing(_ option: [String], _ reason: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "-w", directory.file("x.pcap")] + option)

        #expect(result.status != 0 && !result.crashed)
        #expect(!result.standardError.contains("Missing value"), "\(result.standardError)")
        #expect(result.standardError.contains(reason), "\(result.standardError)")
        #expect(result.standardError.contains(option[0]), "the option is named: \(result.standardError)")
    }

    @Test func aDirectoryThatCannotBeMadeIsSaidInPlainWords() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))

        let result = try TapedeckBinary.run(["record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--per-session", file + "/sessions", "--quiet"])

        #expect(result.status == 2 && !result.crashed)
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first?.hasPrefix("tapedeck: cannot create the directory \(file)/sessions: ") == true, "\(result.standardError)")
        #expect(!result.standardError.contains("Domain"), "\(result.standardError)")
    }

    @Test func runningOutOfDescriptorsIsSaidWithTheLimit() async throws {
        let upstream = try TapedeckProcess.sampleServer()
        defer { upstream.process.stop() }
        let (proxy, listen) = try TapedeckProcess.proxy(["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.endpoint, "--quiet"], shellPrefix: "ulimit -n 64 &&")
        defer { proxy.stop() }

        // More clients than the proxy has descriptors for: each session takes two.
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<60 {
            held.append(try BlockingClient.connect(listen, timeout: .seconds(2)))
        }

        let line = try proxy.waitForLine(containing: "out of file descriptors", timeout: .seconds(10))
        #expect(line.contains("out of file descriptors (the limit is 64; raise it with ulimit -n)"), "\(line)")
        #expect(!proxy.outputLines.contains { $0.contains("upstream unavailable") }, "\(proxy.outputLines.filter { $0.contains("upstream") }.prefix(3))")
    }
}
