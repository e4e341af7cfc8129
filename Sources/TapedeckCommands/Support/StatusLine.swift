import Foundation
import NIOConcurrencyHelpers

/// The live status line on a terminal's standard error, and the log lines
/// printed above it without tearing it.
final class StatusLine: Sendable {
    static let shared = StatusLine()

    /// True when standard error is a terminal.
    let isTerminal = isatty(STDERR_FILENO) == 1
    private let current = NIOLockedValueBox<String?>(nil)

    /// Replaces the status line (terminals only).
    func show(_ text: String) {
        guard isTerminal else { return }
        current.withLockedValue { current in
            current = text
            write("\r\u{1B}[K" + text)
        }
    }

    /// Removes the status line for good.
    func clear() {
        current.withLockedValue { current in
            if current != nil { write("\r\u{1B}[K") }
            current = nil
        }
    }

    /// Prints a whole line on standard error, keeping the status line below it.
    func printAbove(_ line: String) {
        current.withLockedValue { current in
            if let status = current {
                write("\r\u{1B}[K" + line + "\n" + status)
            } else {
                write(line + "\n")
            }
        }
    }

    private func write(_ text: String) {
        var copy = text
        copy.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
