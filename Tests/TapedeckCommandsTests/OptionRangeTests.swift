import Foundation
@testable import TapedeckCommands
import TapedeckTestSupport
import Testing

/// Every duration, size, rate and ratio a user types lands in a checked
/// range: a value outside it is one line naming the option and the range,
/// and exit status 2 — never a trap.
@Suite struct OptionRangeTests {
    static let recording = Fixture.packageRoot.appendingPathComponent("Recordings/redis-tcp.pcap").path
    static let proxy = ["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"]
    static let record = ["record", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "-w", "/nonexistent/never-written.pcap"]
    static let serve = ["replay", "serve", recording, "--listen", "127.0.0.1:0"]

    /// The options that trapped with "Double value cannot be converted to
    /// Int64" (and `--speed 1e-300`, which trapped at the first connection).
    static let crashing: [(arguments: [String], option: String, range: String)] = [
        (proxy + ["--latency", "99999999999999999999h"], "--latency", "a duration from 0 to 100 days"),
        (proxy + ["--latency", "1e19ns"], "--latency", "a duration from 0 to 100 days"),
        (record + ["-C", "1e30"], "-C", "a size from 1 B to 1 PiB"),
        (proxy + ["--slice", "1e23"], "--slice", "a size from 1 B to 1 PiB"),
        (proxy + ["--bandwidth", "1e23GB/s"], "--bandwidth", "a rate from 1 B/s to 1 PiB/s"),
        (record + ["-G", "99999999999999999999h"], "-G", "a duration over 0 and up to 100 days"),
        (proxy + ["--grace", "1e300s"], "--grace", "a duration from 0 to 100 days"),
        (serve + ["--turn-idle", "1e300s"], "--turn-idle", "a duration from 0 to 100 days"),
        (serve + ["--speed", "1e-300"], "--speed", "a factor from 0.001 to 1000"),
        (proxy + ["--drop", "2"], "--drop", "a probability from 0 to 1"),
        (proxy + ["--toxicity", "1e300"], "--toxicity", "a probability from 0 to 1"),
        (proxy + ["--limit-data", "1025TiB"], "--limit-data", "a size from 0 B to 1 PiB"),
        (serve + ["--max-gap", "2401h"], "--max-gap", "a duration from 0 to 100 days"),
        (["replay", "drive", recording, "--target", "127.0.0.1:1", "--reply-timeout", "1e300s"], "--reply-timeout", "a duration from 0 to 100 days"),
        (proxy + ["--seed", "99999999999999999999"], "--seed", "a whole number from 0 to 18446744073709551615"),
        (record + ["--unix-port", "70000"], "--unix-port", "a whole number from 0 to 65535"),
    ]

    @Test(arguments: 0..<crashing.count)
    func anOutOfRangeValueIsOneLineAndExitStatusTwo(index: Int) throws {
        let (arguments, option, range) = Self.crashing[index]
        let result = try TapedeckBinary.run(arguments)
        #expect(!result.crashed, "\(arguments): status \(result.status)")
        #expect(result.status == 2, "\(arguments): \(result.standardError)")
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        let line = try #require(result.errorLines.first)
        #expect(line.hasPrefix("tapedeck: \(option) \(arguments.last!) is out of range: it takes "), "\(line)")
        #expect(line.contains(range), "\(line)")
        #expect(result.standardOutput.isEmpty)
    }

    @Test(arguments: [
        (proxy + ["--latency", "soon"], "tapedeck: --latency soon is not a duration from 0 to 100 days"),
        (proxy + ["--bandwidth", "1MB"], "tapedeck: --bandwidth 1MB is not a rate from 1 B/s to 1 PiB/s"),
        (proxy + ["--drop", "nan"], "tapedeck: --drop nan is not a probability from 0 to 1"),
        (proxy + ["--slice", "0x10"], "tapedeck: --slice 0x10 is not a size from 1 B to 1 PiB"),
        (proxy + ["--timeout", ""], "tapedeck: --timeout \"\" is not a duration"),
        (proxy + ["--seed", "abc"], "tapedeck: --seed abc is not a whole number from 0 to 18446744073709551615"),
        (["server", "--seed", "7.5"], "tapedeck: --seed 7.5 is not a whole number"),
    ])
    func aValueOfTheWrongKindIsOneLineAndExitStatusTwo(arguments: [String], line: String) throws {
        let result = try TapedeckBinary.run(arguments)
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.errorLines.count == 1, "\(result.standardError)")
        #expect(result.errorLines.first?.hasPrefix(line) == true, "\(result.standardError)")
    }

    /// One parser and what its values must satisfy when it accepts one.
    struct Parser: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var option: String
        var accepts: @Sendable (String) throws -> Bool

        static let all: [Parser] = [
            Parser(testDescription: "duration", option: "--latency") { text in
                let value = try DurationArgument.parse(text, option: "--latency").duration
                return value >= .zero && value <= .seconds(8_640_000)
            },
            Parser(testDescription: "positive duration", option: "-G") { text in
                let value = try DurationArgument.parse(text, option: "-G", positive: true).duration
                return value > .zero && value <= .seconds(8_640_000)
            },
            Parser(testDescription: "size", option: "--limit-data") { text in
                (0...(1 << 50)).contains(try SizeArgument.parse(text, option: "--limit-data").bytes)
            },
            Parser(testDescription: "size in millions", option: "-C") { text in
                (1...(1 << 50)).contains(try SizeArgument.parse(text, option: "-C", bareUnit: 1_000_000, minimum: 1).bytes)
            },
            Parser(testDescription: "rate", option: "--bandwidth") { text in
                (1...(1 << 50)).contains(try RateArgument.parse(text, option: "--bandwidth").bytesPerSecond)
            },
            Parser(testDescription: "probability", option: "--drop") { text in
                (0...1).contains(try RatioArgument.probability("--drop")(text))
            },
            Parser(testDescription: "speed", option: "--speed") { text in
                let speed = try RatioArgument.speed("--speed")(text)
                return speed == 0 || (0.001...1000).contains(speed)
            },
        ]
    }

    static let extremes = [
        "", " ", "0", "-0", ".", "e", "1e", "--1", "1..2", "+1", "١", " 1s", "1s ", "1 s", "\n", "1\ns", "\u{0}", "µ", "1µs",
        "nan", "NaN", "inf", "-inf", "infinity", "0x1p10", "0x10", "1e308", "1e309", "-1e308", "1e-400", "4.9e-324", "2.2250738585072014e-308",
        "99999999999999999999999999", "18446744073709551616", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "8640000s", "8640000.000000001s", "8640000.0000001s", "2400h", "2400.0001h", "144000m", "0.4ns", "0.5ns", "1e-9s", "1e-10s",
        "1PiB", "1125899906842624", "1125899906842625", "1125899906842624B", "1048576GiB", "1048577GiB", "1e15B", "1.2e15B",
        "1B/s", "0B/s", "0.4B/s", "1e300GB/s", "1MB/s/s", "/s", "1/s", "KiB/s", "1KiB", "0.001", "0.0009999", "1000", "1000.0001", "1",
        String(repeating: "9", count: 400) + "s", String(repeating: "9", count: 400), "1" + String(repeating: "0", count: 309) + "ns",
        "0." + String(repeating: "0", count: 400) + "1", String(repeating: "1e", count: 100),
    ]

    /// Each parser, fed extreme strings and thousands of random ones, either
    /// returns a value inside its range or throws an `OptionValueError`
    /// whose one line names the option — it never traps.
    @Test(arguments: Parser.all)
    func everyParserHoldsItsRangeOnExtremeAndRandomStrings(parser: Parser) throws {
        var generator = SeededGenerator(seed: 12)
        let alphabet = Array("0123456789012345678901234567890123456789.eE+-  /sµunmhdKMGTPiB\u{0}\n٣x")
        var inputs = Self.extremes
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...24, using: &generator)
            inputs.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for exponent in stride(from: -330, through: 330, by: 7) {
            for suffix in ["", "ns", "s", "h", "B", "GiB", "B/s", "MB/s"] {
                inputs.append("1e\(exponent)\(suffix)")
                inputs.append("\(Double.random(in: 0...10, using: &generator))e\(exponent)\(suffix)")
            }
        }
        var accepted = 0
        for text in inputs {
            do {
                #expect(try parser.accepts(text), "\(parser.option) accepted \(text.debugDescription) out of its range")
                accepted += 1
            } catch let error as OptionValueError {
                #expect(error.option == parser.option)
                #expect(!error.description.contains("\n"), "\(error.description.debugDescription)")
                #expect(error.description.hasPrefix("\(parser.option) "))
                #expect(error.description.contains(" from ") || error.description.contains(" over 0"))
            }
        }
        #expect(accepted > 0)
    }

    /// What a user writes is what they get, through every unit.
    @Test func durationsSizesAndRatesMeanWhatTheySay() throws {
        #expect(try DurationArgument.parse("250us", option: "").duration == .microseconds(250))
        #expect(try DurationArgument.parse("1.5s", option: "").duration == .milliseconds(1500))
        #expect(try DurationArgument.parse("2400h", option: "").duration == .seconds(8_640_000))
        #expect(try DurationArgument.parse("0", option: "").duration == .zero)
        #expect(try SizeArgument.parse("4KiB", option: "").bytes == 4096)
        #expect(try SizeArgument.parse("100", option: "", bareUnit: 1_000_000).bytes == 100_000_000)
        #expect(try SizeArgument.parse("1PiB", option: "").bytes == 1 << 50)
        #expect(try RateArgument.parse("100KiB/s", option: "").bytesPerSecond == 102_400)
        #expect(try RatioArgument.speed("--speed")("0") == 0)
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<1_000 {
            let milliseconds = Int64.random(in: 0...8_640_000_000, using: &generator)
            #expect(try DurationArgument.parse("\(milliseconds)ms", option: "").duration == .milliseconds(milliseconds))
            let kibibytes = Int64.random(in: 0...(1 << 40), using: &generator)
            #expect(try SizeArgument.parse("\(kibibytes)KiB", option: "").bytes == kibibytes << 10)
        }
    }
}
