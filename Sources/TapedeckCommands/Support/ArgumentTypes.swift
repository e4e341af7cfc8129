import ArgumentParser
import Recording

/// Parses an endpoint option, saying what is wrong with a bad one.
func parseEndpoint(_ text: String) throws -> Endpoint {
    do {
        return try Endpoint(parsing: text)
    } catch {
        throw ValidationError(error.description)
    }
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
