import Foundation
import Recording

/// The real `tapedeck` running beside a test: its built-in echo upstream,
/// and proxies whose listening endpoint is read from their log.
public enum TapedeckProcess {
    /// `tapedeck sample-server` on a free loopback port, and that endpoint.
    public static func sampleServer() throws -> (process: BackgroundProcess, endpoint: String) {
        let process = try BackgroundProcess(try TapedeckExecutable.located.get(), ["sample-server", "--listen", "127.0.0.1:0"])
        let line = try process.waitForLine(containing: "echo server listening on ")
        return (process, String(line.split(separator: " ").last ?? ""))
    }

    /// Starts `tapedeck ARGUMENTS` (through `/bin/sh -c 'PREFIX exec …'`
    /// when a shell prefix such as `ulimit -n 64 &&` is given) and waits for
    /// its first listener. `standardInput` and `standardOutput` are as
    /// `BackgroundProcess` takes them.
    public static func proxy(_ arguments: [String], shellPrefix: String? = nil, standardInput: Any? = nil, standardOutput: Any? = nil) throws -> (process: BackgroundProcess, listen: Endpoint) {
        let binary = try TapedeckExecutable.located.get()
        let process = if let shellPrefix {
            try BackgroundProcess("/bin/sh", ["-c", "\(shellPrefix) exec \"$0\" \"$@\"", binary] + arguments, standardInput: standardInput, standardOutput: standardOutput)
        } else {
            try BackgroundProcess(binary, arguments, standardInput: standardInput, standardOutput: standardOutput)
        }
        let line = try process.waitForLine(containing: "listener.address=")
        let address = line.split(separator: " ").first { $0.hasPrefix("listener.address=") }?.dropFirst("listener.address=".count) ?? ""
        return (process, try Endpoint(parsing: String(address)))
    }
}

extension BackgroundProcess {
    /// Sends SIGTERM and waits (bounded) for the exit.
    public func stop() {
        signal(SIGTERM)
        _ = try? waitForExit()
    }
}
