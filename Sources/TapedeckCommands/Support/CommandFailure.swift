import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints one line, `tapedeck: WHAT`, on standard error.
func printError(_ message: String) {
    var line = "tapedeck: \(message)\n"
    line.withUTF8 { bytes in
        _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count)
    }
}

/// Runs a command's body; any failure becomes one line on standard error and
/// exit status 2, never a stack trace.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw commandFailure(error)
    }
}

func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        throw commandFailure(error)
    }
}

/// ArgumentParser's own errors pass through; anything else is printed here.
private func commandFailure(_ error: Error) -> Error {
    switch error {
    case is ExitCode, is ValidationError:
        return error
    default:
        printError("\(error)")
        return ExitCode(2)
    }
}
