import ArgumentParser
import Foundation

/// `--host`: the API every `ctl` subcommand talks to. `ctl` and each of its
/// subcommands hold this group, which ArgumentParser decodes once for the
/// whole command line, so the flag goes before the subcommand or after it
/// (`tapedeck ctl --host URL list`, `tapedeck ctl list --host URL`).
struct CtlConnection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The API's URL (default: $TOXIPROXY_URL, else http://127.0.0.1:8474).", valueName: "url"))
    var host: String?

    /// A client of that API; a URL that is not http(s) is a usage error.
    var client: ControlClient {
        get throws {
            let text = host ?? ProcessInfo.processInfo.environment["TOXIPROXY_URL"] ?? "http://127.0.0.1:8474"
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("'\(text)' is not an http:// URL")
            }
            return ControlClient(base: url)
        }
    }
}
