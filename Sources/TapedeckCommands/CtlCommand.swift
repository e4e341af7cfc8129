import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tapedeck ctl`: a command-line client for the control API (and for
/// Toxiproxy itself), like `toxiproxy-cli`.
struct CtlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Manage the proxies and toxics of a running tapedeck server (or Toxiproxy).",
        discussion: """
            Examples:
              tapedeck ctl create redis --listen 127.0.0.1:26379 --upstream 127.0.0.1:6379
              tapedeck ctl toxic add redis --type latency --attribute latency=100 --attribute jitter=10
              tapedeck ctl toggle redis
              tapedeck ctl record start redis --path redis.pcap
              tapedeck ctl sessions redis
              tapedeck ctl record stop redis
            """,
        subcommands: [List.self, Inspect.self, Create.self, Toggle.self, Delete.self, Toxic.self, Record.self, Sessions.self]
    )
}

/// `--host`, shared by every `ctl` subcommand.
struct CtlConnection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The API's URL (default: $TOXIPROXY_URL, else http://127.0.0.1:8474).", valueName: "url"))
    var host: String?

    var client: APIClient {
        get throws {
            let text = host ?? ProcessInfo.processInfo.environment["TOXIPROXY_URL"] ?? "http://127.0.0.1:8474"
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("'\(text)' is not an http:// URL")
            }
            return APIClient(base: url)
        }
    }
}

/// A minimal JSON-over-HTTP client; a non-2xx answer throws the server's error text.
struct APIClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let base: URL

    @discardableResult
    func send(_ method: String, _ path: String, body: Any? = nil) async throws -> Any? {
        var request = URLRequest(url: URL(string: base.absoluteString.trimmingCharacters(in: ["/"]) + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Failure(description: "cannot reach \(base.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let object = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data)
        guard (200..<300).contains(status) else {
            let message = (object as? [String: Any])?["error"] as? String ?? String(decoding: data, as: UTF8.self)
            throw Failure(description: "\(method) \(path): \(status): \(message)")
        }
        return object
    }

    static func path(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name
    }
}

/// Prints a JSON value indented, keys sorted.
func printJSON(_ value: Any?) {
    guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) else { return }
    print(String(decoding: data, as: UTF8.self))
}

extension CtlCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the proxies.", aliases: ["ls", "l"])
        @OptionGroup var connection: CtlConnection

        func run() async throws {
            try await reportingFailures {
                let proxies = try await connection.client.send("GET", "/proxies") as? [String: [String: Any]] ?? [:]
                print("NAME\tLISTEN\tUPSTREAM\tENABLED\tTOXICS")
                for (name, proxy) in proxies.sorted(by: { $0.key < $1.key }) {
                    let toxics = (proxy["toxics"] as? [Any])?.count ?? 0
                    print("\(name)\t\(proxy["listen"] ?? "")\t\(proxy["upstream"] ?? "")\t\(proxy["enabled"] as? Bool ?? false)\t\(toxics)")
                }
            }
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one proxy and its toxics as JSON.", aliases: ["i"])
        @OptionGroup var connection: CtlConnection
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                printJSON(try await connection.client.send("GET", "/proxies/\(APIClient.path(name))"))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a proxy.", aliases: ["c", "new"])
        @OptionGroup var connection: CtlConnection
        @Option(name: .shortAndLong, help: "HOST:PORT or unix:/path to listen on (default 127.0.0.1:0).")
        var listen: String = "127.0.0.1:0"
        @Option(name: .shortAndLong, help: "HOST:PORT or unix:/path to forward to.")
        var upstream: String
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                let proxy = try await connection.client.send("POST", "/proxies", body: ["name": name, "listen": listen, "upstream": upstream])
                printJSON(proxy)
            }
        }
    }

    struct Toggle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "toggle", abstract: "Enable a disabled proxy, or disable an enabled one.", aliases: ["tog"])
        @OptionGroup var connection: CtlConnection
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                let client = try connection.client
                let path = "/proxies/\(APIClient.path(name))"
                let proxy = try await client.send("GET", path) as? [String: Any] ?? [:]
                let enabled = !(proxy["enabled"] as? Bool ?? false)
                try await client.send("POST", path, body: ["enabled": enabled])
                print("\(name) is now \(enabled ? "enabled" : "disabled")")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a proxy.", aliases: ["d"])
        @OptionGroup var connection: CtlConnection
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                try await connection.client.send("DELETE", "/proxies/\(APIClient.path(name))")
            }
        }
    }

    struct Toxic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "toxic",
            abstract: "Add, update or remove a proxy's toxics.",
            subcommands: [Add.self, Update.self, Remove.self],
            aliases: ["t"]
        )
    }
}

/// `--attribute key=value`, repeatable; values are numbers.
struct ToxicAttributes: ParsableArguments {
    @Option(name: [.customShort("a"), .customLong("attribute")], help: ArgumentHelp("An attribute, e.g. latency=100 (repeatable).", valueName: "key=value"))
    var attributes: [String] = []

    @Option(name: [.customLong("toxicity")], help: "The share of connections affected, 0 to 1.", transform: RatioArgument.probability("--toxicity"))
    var toxicity: Double?

    func parsed() throws -> [String: Double] {
        var result: [String: Double] = [:]
        for text in attributes {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let value = Double(parts[1]) else {
                throw ValidationError("attribute '\(text)' must be key=number, e.g. latency=100")
            }
            result[parts[0]] = value
        }
        return result
    }
}

extension CtlCommand.Toxic {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a toxic to a proxy.", aliases: ["a"])
        @OptionGroup var connection: CtlConnection
        @Option(name: .shortAndLong, help: "latency, bandwidth, slicer, limit_data, drop, reset_peer, timeout, slow_close…")
        var type: String
        @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "Default: TYPE_STREAM.")
        var toxicName: String?
        @Flag(name: .customLong("upstream"), help: "Act on client → server bytes.")
        var upstream = false
        @Flag(name: .customLong("downstream"), help: "Act on server → client bytes (the default).")
        var downstream = false
        @OptionGroup var attributes: ToxicAttributes
        @Argument var name: String

        func validate() throws {
            if upstream && downstream { throw ValidationError("--upstream and --downstream are exclusive") }
        }

        func run() async throws {
            try await reportingFailures {
                var body: [String: Any] = ["type": type, "stream": upstream ? "upstream" : "downstream", "attributes": try attributes.parsed()]
                if let toxicName { body["name"] = toxicName }
                if let toxicity = attributes.toxicity { body["toxicity"] = toxicity }
                printJSON(try await connection.client.send("POST", "/proxies/\(APIClient.path(name))/toxics", body: body))
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a toxic's attributes or toxicity.", aliases: ["u"])
        @OptionGroup var connection: CtlConnection
        @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "The toxic to change.")
        var toxicName: String
        @OptionGroup var attributes: ToxicAttributes
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                var body: [String: Any] = ["attributes": try attributes.parsed()]
                if let toxicity = attributes.toxicity { body["toxicity"] = toxicity }
                printJSON(try await connection.client.send("PATCH", "/proxies/\(APIClient.path(name))/toxics/\(APIClient.path(toxicName))", body: body))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a toxic.", aliases: ["r", "delete", "d"])
        @OptionGroup var connection: CtlConnection
        @Option(name: [.customShort("n"), .customLong("toxic-name")], help: "The toxic to remove.")
        var toxicName: String
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                try await connection.client.send("DELETE", "/proxies/\(APIClient.path(name))/toxics/\(APIClient.path(toxicName))")
            }
        }
    }
}

extension CtlCommand {
    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record",
            abstract: "Record a running proxy's sessions to pcap, without restarting it (Tapedeck only).",
            discussion: """
                Sessions opened after 'record start' are written to the file, as 'tapedeck record' \
                writes them; 'record stop' closes the file and its manifest FILE.json and says \
                how many sessions and bytes it holds. Sessions still live at the stop are kept up \
                to that moment and marked open. The server writes the file: a relative path is \
                made absolute from this shell's directory, so it means the same when the server \
                runs on this machine.

                Examples:
                  tapedeck ctl record start redis --path /tmp/redis.pcap
                  tapedeck ctl record start redis -w redis.pcap -C 100MB -W 5
                  tapedeck ctl record start redis --per-session captures/ --redact 'AUTH \\S+'
                  tapedeck ctl record status redis
                  tapedeck ctl record stop redis
                """,
            subcommands: [Start.self, Stop.self, Status.self]
        )
    }

    struct Sessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sessions",
            abstract: "List a proxy's live sessions: client, upstream, when opened, bytes each way (Tapedeck only).",
            discussion: """
                C→S counts bytes from the client to the upstream, S→C the other way; \
                RECORDING says whether the session is being written to the proxy's recording.
                """
        )
        @OptionGroup var connection: CtlConnection
        @Flag(help: "Print the sessions as JSON, as GET /proxies/NAME/sessions returns them.")
        var json = false
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                let reply = try await connection.client.send("GET", "/proxies/\(APIClient.path(name))/sessions")
                if json {
                    printJSON(reply)
                    return
                }
                print("ID\tCLIENT\tUPSTREAM\tOPENED\tC→S\tS→C\tRECORDING")
                for session in reply as? [[String: Any]] ?? [] {
                    let fields = ["id", "client", "upstream", "opened", "bytes_client_to_server", "bytes_server_to_client"]
                    let recording = session["recording"] as? Bool ?? false
                    print((fields.map { session[$0].map { "\($0)" } ?? "" } + [String(recording)]).joined(separator: "\t"))
                }
            }
        }
    }
}

extension CtlCommand.Record {
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start recording the sessions a proxy opens from now on.",
            discussion: """
                Prints the recording's state as JSON. Fails with 409 when the proxy records already.
                """
        )
        @OptionGroup var connection: CtlConnection
        @Option(name: [.customShort("w"), .customLong("path")], help: ArgumentHelp("Write every session to this pcap file (and its manifest FILE.json).", valueName: "file"))
        var path: String?
        @Option(help: ArgumentHelp("Write one pcap per session into this directory instead.", valueName: "dir"))
        var perSession: String?
        @Option(name: [.customShort("C"), .customLong("rotate-size")], help: ArgumentHelp("Rotate the file at this size (a bare number means millions of bytes, as in tcpdump; or 512KiB, 100MB).", valueName: "size"), transform: SizeArgument.option("--rotate-size", bareUnit: 1_000_000, minimum: 1))
        var rotateSize: SizeArgument?
        @Option(name: [.customShort("G"), .customLong("rotate-interval")], help: ArgumentHelp("Rotate the file when it has been open this long (30s, 5m, 1h).", valueName: "duration"), transform: DurationArgument.option("--rotate-interval", positive: true))
        var rotateInterval: DurationArgument?
        @Option(name: [.customShort("W"), .customLong("ring")], help: ArgumentHelp("With rotation: keep only the newest N files.", valueName: "count"))
        var ring: Int?
        @Option(help: ArgumentHelp("Mask matches of this regular expression with '*' in the recording (repeatable).", valueName: "regex"))
        var redact: [String] = []
        @Option(help: ArgumentHelp("When the disk falls behind: backpressure (lossless) or drop (the recording shows a gap).", valueName: "policy"))
        var onBacklog: String?
        @Argument(help: "The proxy to record.")
        var name: String

        func validate() throws {
            switch (path, perSession) {
            case (nil, nil): throw ValidationError("say where to record: --path FILE or --per-session DIR")
            case (.some, .some): throw ValidationError("--path and --per-session exclude each other")
            default: break
            }
        }

        func run() async throws {
            try await reportingFailures {
                var body: [String: Any] = [:]
                if let path { body["path"] = Self.absolute(path) }
                if let perSession { body["per_session_dir"] = Self.absolute(perSession) }
                if let rotateSize { body["rotate_bytes"] = rotateSize.bytes }
                if let rotateInterval { body["rotate_seconds"] = Double(rotateInterval.duration.components.seconds) + Double(rotateInterval.duration.components.attoseconds) / 1e18 }
                if let ring { body["ring_size"] = ring }
                if !redact.isEmpty { body["redact"] = redact }
                if let onBacklog { body["on_backlog"] = onBacklog }
                printJSON(try await connection.client.send("POST", "/proxies/\(APIClient.path(name))/recording", body: body))
            }
        }

        static func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract: "Stop recording a proxy: close the file and its manifest, print what it holds.",
            discussion: """
                Prints the finished recording as JSON: its path, the sessions it holds, the bytes \
                written (pcap headers included) and the payload each way.
                """
        )
        @OptionGroup var connection: CtlConnection
        @Argument(help: "The proxy whose recording to stop.")
        var name: String

        func run() async throws {
            try await reportingFailures {
                printJSON(try await connection.client.send("DELETE", "/proxies/\(APIClient.path(name))/recording"))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether a proxy records, where, and how much so far.")
        @OptionGroup var connection: CtlConnection
        @Argument var name: String

        func run() async throws {
            try await reportingFailures {
                printJSON(try await connection.client.send("GET", "/proxies/\(APIClient.path(name))/recording"))
            }
        }
    }
}
