import Foundation
import TapedeckTestSupport
import Testing

/// Standard output that cannot take what a command writes (`> /dev/full`,
/// a full disk): one line saying so and exit status 2 — not a crash (the
/// byte dump trapped), and not exit 0 with the output lost (every other
/// command did that).
@Suite struct FullOutputTests {
    static let recording = Fixture.packageRoot.appendingPathComponent("Recordings/redis-tcp.pcap").path

    static let commands: [[String]] = [
        ["inspect", recording],
        ["inspect", recording, "--format", "json"],
        ["inspect", recording, "--session", "0", "--dump", "client"],
        ["inspect", "--verify", recording],
        ["report", recording, "-o", "-"],
        ["--help"],
    ]

    @Test(arguments: commands)
    func aFullStandardOutputIsOneLineAndExitStatus2(arguments: [String]) throws {
        let binary = try TapedeckExecutable.located.get()
        let result = try ChildProcess.run("/bin/sh", ["-c", "exec \"$0\" \"$@\" > /dev/full", binary] + arguments)
        if arguments == ["--help"] {
            // ArgumentParser writes help itself; it must at least not crash.
            #expect(!result.crashed)
            return
        }
        #expect(!result.crashed, "\(result.standardError)")
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.errorLines == ["tapedeck: cannot write to standard output: no space left on the device"], "\(arguments)")
    }

    /// The same commands with a working standard output still exit 0.
    @Test(arguments: commands.dropLast())
    func aWorkingStandardOutputIsUnchanged(arguments: [String]) throws {
        let result = try TapedeckBinary.run(arguments)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(!result.standardOutput.isEmpty)
        #expect(result.standardError.isEmpty)
    }
}
