import ArgumentParser
import Faults
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

/// A duration on the command line: `250us`, `100ms`, `2s`, `1m`, `1.5h`, `0`;
/// never more than 100 days (`Fault.maximumDuration`).
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    static let maximum = Fault.maximumDuration
    /// Nanoseconds per unit: whole numbers, so `1500ms` is exactly 1.5 s.
    private static let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 6e10), ("h", 3.6e12)]

    var duration: Duration
    let description: String

    /// A duration within the default range (0 to 100 days), or nil.
    init?(argument: String) {
        guard let parsed = try? Self.parse(argument, option: "") else { return nil }
        self = parsed
    }

    private init(duration: Duration, description: String) {
        self.duration = duration
        self.description = description
    }

    /// `text` as a duration from 0 (or, when `positive`, more than 0) to 100
    /// days; throws naming `option` and the range.
    static func parse(_ text: String, option: String, positive: Bool = false) throws(OptionValueError) -> DurationArgument {
        let expected = "a duration \(positive ? "over 0 and up" : "from 0") to 100 days, such as 250us, 100ms, 2s or 1m"
        let value: Double
        let scale: Double
        if let unit = units.filter({ text.hasSuffix($0.0) }).max(by: { $0.0.count < $1.0.count }),
           let number = OptionNumber.parse(text.dropLast(unit.0.count)) {
            (value, scale) = (number, unit.1)
        } else if OptionNumber.parse(Substring(text)) == 0 {
            (value, scale) = (0, 1)
        } else {
            throw OptionValueError(option: option, text: text, expected: expected, outOfRange: false)
        }
        let nanoseconds = (value * scale).rounded()
        guard nanoseconds <= Double(maximum.clampedNanoseconds), nanoseconds >= (positive ? 1 : 0) else {
            throw OptionValueError(option: option, text: text, expected: expected, outOfRange: true, negative: nanoseconds < 0 ? "a duration" : nil)
        }
        return DurationArgument(duration: .nanoseconds(Int64(nanoseconds)), description: text)
    }

    /// A `transform:` for `@Option`: parses as `parse(_:option:positive:)` does.
    static func option(_ option: String, positive: Bool = false) -> @Sendable (String) throws -> DurationArgument {
        { text in try parse(text, option: option, positive: positive) }
    }
}

/// A size on the command line: `512`, `4KiB`, `10MB`, `1GiB`; never more
/// than 1 PiB (`Fault.maximumByteCount`).
struct SizeArgument: Sendable, CustomStringConvertible {
    static let maximum = Int64(Fault.maximumByteCount)
    private static let units: [(String, Int64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("PiB", 1 << 50),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("PB", 1_000_000_000_000_000), ("B", 1),
    ]

    var bytes: Int64
    let description: String

    /// `text` as a size from `minimum` bytes to 1 PiB; a number without a
    /// unit counts `bareUnit` bytes. Throws naming `option` and the range.
    static func parse(_ text: String, option: String, bareUnit: Int64 = 1, minimum: Int64 = 0, per suffix: String = "") throws(OptionValueError) -> SizeArgument {
        let bare = bareUnit == 1 ? "" : " (a bare number counts \(bareUnit) bytes)"
        let example = suffix.isEmpty ? "such as 512, 64KiB or 100MB" : "such as 500B\(suffix), 100KiB\(suffix) or 1MB\(suffix)"
        let expected = "a \(suffix.isEmpty ? "size" : "rate") from \(minimum) B\(suffix) to 1 PiB\(suffix), \(example)\(bare)"
        let unit = units.first { text.hasSuffix($0.0 + suffix) }
        let numberText = text.dropLast(unit.map { $0.0.count + suffix.count } ?? suffix.count)
        guard unit != nil || suffix.isEmpty || text.hasSuffix(suffix), let value = OptionNumber.parse(numberText) else {
            throw OptionValueError(option: option, text: text, expected: expected, outOfRange: false)
        }
        let bytes = (value * Double(unit?.1 ?? bareUnit)).rounded()
        guard bytes <= Double(maximum), bytes >= Double(minimum) else {
            throw OptionValueError(option: option, text: text, expected: expected, outOfRange: true, negative: bytes < 0 ? (suffix.isEmpty ? "a size" : "a rate") : nil)
        }
        return SizeArgument(bytes: Int64(bytes), description: text)
    }

    /// A `transform:` for `@Option`: parses as `parse(_:option:bareUnit:minimum:)` does.
    static func option(_ option: String, bareUnit: Int64 = 1, minimum: Int64 = 0) -> @Sendable (String) throws -> SizeArgument {
        { text in try parse(text, option: option, bareUnit: bareUnit, minimum: minimum) }
    }
}

/// A rate on the command line: `1MB/s`, `100KiB/s`, `500B/s`; from 1 B/s to 1 PiB/s.
struct RateArgument: Sendable, CustomStringConvertible {
    var bytesPerSecond: Int64
    let description: String

    static func parse(_ text: String, option: String) throws(OptionValueError) -> RateArgument {
        let size = try SizeArgument.parse(text, option: option, minimum: 1, per: "/s")
        return RateArgument(bytesPerSecond: size.bytes, description: text)
    }

    static func option(_ option: String) -> @Sendable (String) throws -> RateArgument {
        { text in try parse(text, option: option) }
    }
}

/// A plain number on the command line — a probability (`--drop 0.01`) or a
/// factor (`--speed 2`) — checked against its range.
enum RatioArgument {
    /// `text` as a number within `range`, or exactly 0 when `orZero`; throws
    /// naming `option` and `expected` (what the option takes, in words).
    static func parse(_ text: String, option: String, range: ClosedRange<Double>, orZero: Bool = false, expected: String, noun: String) throws(OptionValueError) -> Double {
        guard let value = OptionNumber.parse(Substring(text)) else {
            throw OptionValueError(option: option, text: text, expected: expected, outOfRange: false)
        }
        guard range.contains(value) || (orZero && value == 0) else {
            throw OptionValueError(option: option, text: text, expected: expected, outOfRange: true, negative: value < 0 ? noun : nil)
        }
        return value
    }

    /// A probability from 0 to 1 (`--drop`, `--toxicity`).
    static func probability(_ option: String) -> @Sendable (String) throws -> Double {
        { text in try parse(text, option: option, range: 0...1, expected: "a probability from 0 to 1, such as 0.01", noun: "a probability") }
    }

    /// A replay's time factor: 0 (do not wait) or from 0.001 to 1000.
    static func speed(_ option: String) -> @Sendable (String) throws -> Double {
        { text in try parse(text, option: option, range: 0.001...1000, orZero: true, expected: "0 (do not wait) or a factor from 0.001 to 1000, such as 0.5 or 2", noun: "a factor") }
    }
}

/// A decimal number as users write them: `2`, `0.5`, `.5`, `1e-3`, `-1`.
/// No hexadecimal, no `nan` or `inf`: every value is finite.
enum OptionNumber {
    static func parse(_ text: Substring) -> Double? {
        let digits = text.first == "-" ? text.dropFirst() : text
        guard let first = digits.first, first.isASCII, first.isNumber || first == ".",
              digits.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
              let value = Double(text), value.isFinite
        else { return nil }
        return value
    }
}

/// An option's value Tapedeck cannot use: the option, what was typed, and
/// what the option takes. The command line prints it as one line and exits 2.
struct OptionValueError: Error, CustomStringConvertible, Sendable {
    var option: String
    var text: String
    /// What the option takes, with its range: `a duration from 0 to 100 days, …`.
    var expected: String
    /// The value is of the right kind but outside the range.
    var outOfRange: Bool = false
    /// What the value is, when it is below 0 (`a duration`): the message
    /// then says that it cannot be negative.
    var negative: String? = nil

    var description: String {
        var shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        if shown.isEmpty || shown.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || (0x7f..<0xa0).contains($0.value) }) {
            shown = shown.debugDescription
        }
        guard outOfRange else { return "\(option) \(shown) is not \(expected)" }
        let why = negative.map { "\($0) cannot be negative; " } ?? ""
        return "\(option) \(shown) is out of range: \(why)it takes \(expected)"
    }

    /// The `OptionValueError` a `transform:` threw, inside the error
    /// ArgumentParser wrapped it in (its own types are internal, so it is
    /// found by reflection, a few levels deep at most).
    static func thrown(in error: any Error) -> OptionValueError? {
        func search(_ value: Any, depth: Int) -> OptionValueError? {
            if let found = value as? OptionValueError { return found }
            guard depth < 6 else { return nil }
            for child in Mirror(reflecting: value).children {
                if let found = search(child.value, depth: depth + 1) { return found }
            }
            return nil
        }
        return search(error, depth: 0)
    }
}

// Numeric options are declared with `parsing: .unconditional`, so a negative
// value (`-C -1`) reaches their transform instead of reading as another
// option, and is refused there, named: `-C -1 is out of range: a size
// cannot be negative; it takes …`.

/// A `transform:` for an option taking a whole number from 0 to
/// `Number.max` (a port, a seed): a bad value is one line
/// naming `option` and its range (`--seed abc is not a whole number from 0
/// to …`), exit status 2, like every other option value.
func unsignedOption<Number: FixedWidthInteger & UnsignedInteger>(_ option: String) -> @Sendable (String) throws -> Number {
    { text in
        guard let number = Number(text) else {
            let negative = text.hasPrefix("-") && Int64(text) != nil
            throw OptionValueError(option: option, text: text, expected: "a whole number from 0 to \(Number.max)", outOfRange: negative || (!text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber }), negative: negative ? "the number" : nil)
        }
        return number
    }
}
