import ArgumentParser
import Foundation
import Logging
import NIOCore
import Replay

/// `replay drive --start-at`: the wall-clock instant several drivers agree
/// to begin at.
enum StartTime {
    /// RFC 3339 (`2026-12-03T12:00:00Z`, with fractional seconds or an
    /// offset), or `@SECONDS` since 1970 (`@1764763200.5`, as `date +@%s.%N` gives).
    @Sendable static func parse(_ text: String) throws -> Date {
        if text.hasPrefix("@"), let seconds = Double(text.dropFirst()), seconds.isFinite, seconds >= 0 {
            return Date(timeIntervalSince1970: seconds)
        }
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        throw OptionValueError(option: "--start-at", text: text, expected: "an RFC 3339 time (2026-12-03T12:00:00Z) or @SECONDS since 1970")
    }

    /// `date` on NIO's clock, for the driver to anchor its first session
    /// on (its connections open just before, so the first sends go out on
    /// the instant); nil for one that has passed, which starts at once with
    /// a warning: the drivers that agreed on it are already playing.
    static func deadline(for date: Date, logger: Logger) throws -> NIODeadline? {
        let now = NIODeadline.now()
        let seconds = date.timeIntervalSinceNow
        guard seconds > 0 else {
            logger.warning("--start-at \(ISO8601DateFormatter().string(from: date)) passed \(Int(-seconds * 1000)) ms ago: starting now")
            return nil
        }
        guard seconds < 7 * 24 * 3600 else {
            throw ReplayError(.invalidOption, "--start-at \(ISO8601DateFormatter().string(from: date)) is more than a week away")
        }
        logger.info("waiting \(String(format: "%.3f", seconds)) s for --start-at")
        return now + .nanoseconds(Int64(seconds * 1e9))
    }
}
