import ArgumentParser
import Recording
import Sockets

/// Parses an endpoint to connect to (an upstream, a target): an IP
/// address, a host name (resolved when connecting) or a Unix path, saying
/// what is wrong with a bad one.
func parseEndpoint(_ text: String) throws -> Endpoint {
    do {
        return try Endpoint(parsing: text)
    } catch {
        throw ValidationError(error.description)
    }
}

/// Parses an endpoint to listen on: an IP address, `localhost` (127.0.0.1)
/// or a Unix path short enough for a socket address; not another host name.
func parseListener(_ text: String) throws -> Endpoint {
    let endpoint = try parseEndpoint(text)
    do {
        _ = try endpoint.listenable().socketAddress()
    } catch {
        throw ValidationError("invalid endpoint '\(text)': \(error.message)")
    }
    return endpoint
}

/// A duration on the command line: `250us`, `100ms`, `2s`, `1m`, `1.5s`.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var duration: Duration
    let description: String

    init?(argument: String) {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        guard let (suffix, scale) = units.filter({ argument.hasSuffix($0.0) }).max(by: { $0.0.count < $1.0.count }),
              let value = Double(argument.dropLast(suffix.count)), value >= 0, value.isFinite
        else { return nil }
        duration = .nanoseconds(Int64((value * scale * 1e9).rounded()))
        description = argument
    }
}

/// A size on the command line: `512`, `4KiB`, `10MB`, `1GiB`.
struct SizeArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var bytes: Int64
    let description: String

    init?(argument: String) {
        self.init(argument: argument, bareUnit: 1)
    }

    /// `bareUnit` scales a number written without a unit.
    init?(argument: String, bareUnit: Int64) {
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ]
        let unit = units.first { argument.hasSuffix($0.0) }
        let number = unit.map { argument.dropLast($0.0.count) } ?? Substring(argument)
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        bytes = Int64((value * Double(unit?.1 ?? bareUnit)).rounded())
        description = argument
    }
}

// Numeric options are declared with `parsing: .unconditional`, so a negative
// value (`-C -1`) reaches them instead of reading as another option, and
// with one of these transforms, which say why a bad value is bad; the
// parser adds the option and the value (`The value '-1' is invalid for
// '-C <size>': a size cannot be negative`).

extension DurationArgument {
    static func parse(_ text: String) throws -> DurationArgument {
        guard let duration = DurationArgument(argument: text) else {
            throw ValidationError(text.hasPrefix("-") ? "a duration cannot be negative" : "not a duration such as 250us, 100ms, 2s or 1m")
        }
        return duration
    }
}

extension SizeArgument {
    static func parse(_ text: String) throws -> SizeArgument {
        try parse(text, bareUnit: 1)
    }

    /// A size larger than zero; a bare number counts `bareUnit`s.
    static func parsePositive(_ text: String, bareUnit: Int64 = 1) throws -> SizeArgument {
        let size = try parse(text, bareUnit: bareUnit)
        guard size.bytes > 0 else { throw ValidationError("the size must be larger than 0") }
        return size
    }

    private static func parse(_ text: String, bareUnit: Int64) throws -> SizeArgument {
        guard let size = SizeArgument(argument: text, bareUnit: bareUnit) else {
            throw ValidationError(text.hasPrefix("-") ? "a size cannot be negative" : "not a size such as 512, 4KiB or 10MB")
        }
        return size
    }
}

/// A whole number from 0 to `Number.max` (a port, a seed).
func parseUnsigned<Number: FixedWidthInteger & UnsignedInteger>(_ text: String) throws -> Number {
    guard let number = Number(text) else {
        throw ValidationError(text.hasPrefix("-") ? "the number cannot be negative" : "not a whole number from 0 to \(Number.max)")
    }
    return number
}
