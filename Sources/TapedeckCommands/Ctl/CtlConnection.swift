import ArgumentParser
import Foundation

/// `--host` and `--api-token-file`: the API every `ctl` subcommand talks
/// to. `ctl` and each of its subcommands hold this group, which
/// ArgumentParser decodes once for the whole command line, so the flags go
/// before the subcommand or after it (`tapedeck ctl --host URL list`,
/// `tapedeck ctl list --host URL`).
struct CtlConnection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The API's URL (default: $TOXIPROXY_URL, else http://127.0.0.1:8474).", valueName: "url"))
    var host: String?

    @Option(help: ArgumentHelp("Send the token in this file's first line as 'Authorization: Bearer TOKEN', for a server started with --api-token-file.", valueName: "file"))
    var apiTokenFile: String?

    /// A client of that API; a URL that is not http(s) is a usage error.
    var client: ControlClient {
        get throws {
            let text = host ?? ProcessInfo.processInfo.environment["TOXIPROXY_URL"] ?? "http://127.0.0.1:8474"
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("'\(text)' is not an http:// URL")
            }
            return ControlClient(base: url, token: try apiTokenFile.map(Self.token(from:)))
        }
    }

    struct TokenFileError: Error, CustomStringConvertible {
        var description: String
    }

    /// The first line of the token file `path`, which may not be empty.
    static func token(from path: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TokenFileError(description: "cannot read the API token file \(path): \(error.localizedDescription)")
        }
        let token = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard !token.isEmpty else { throw TokenFileError(description: "the API token file \(path) is empty: its first line is the token") }
        return token
    }
}
