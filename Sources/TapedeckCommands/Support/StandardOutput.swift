import CStandardIO
import Foundation
import Recording

#if canImport(Glibc)
import Glibc
#endif

/// Standard output as commands write it: through C's `stdout`, as `print`
/// writes, so the two keep their order. A write that fails — a full disk,
/// `> /dev/full`, a closed pipe with SIGPIPE ignored — is an error that
/// names why, never a trap, and never an exit status of 0 with the output
/// lost.
enum StandardOutput {
    /// C's `stdout`, which `print` writes through.
    private static var stream: UnsafeMutablePointer<FILE> { tapedeck_standard_output() }

    struct Failure: Error, CustomStringConvertible {
        let number: Int32
        var description: String {
            number == 0 ? "cannot write to standard output" : "cannot write to standard output: \(PlainReason.errno(number))"
        }
    }

    static func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        if fwrite(bytes.baseAddress, 1, bytes.count, stream) != bytes.count {
            throw failed(errno)
        }
    }

    static func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// `text` and a newline, as `print` writes it, failing as `write` does.
    static func line(_ text: String) throws {
        try write(Data((text + "\n").utf8))
    }

    /// Throws if any write to standard output failed so far (`print`'s
    /// included, which cannot say so itself): long output stops at the
    /// first failure instead of running to its end for nothing.
    static func check() throws {
        guard ferror(stream) != 0 else { return }
        // The failed write's errno is gone by now; flushing again tells it.
        throw failed(fflush(stream) != 0 ? errno : 0)
    }

    /// Hands everything written so far to the kernel; throws if that, or
    /// any write before it, failed.
    static func flush() throws {
        if fflush(stream) != 0 { throw failed(errno) }
        try check()
    }

    /// The failure to throw; what the stream still holds is dropped (it
    /// cannot be written), so that the flush at exit does not fail again.
    private static func failed(_ number: Int32) -> Failure {
        tapedeck_discard_standard_output()
        return Failure(number: number)
    }
}
