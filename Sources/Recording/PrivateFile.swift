import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files made from recordings (manifests, report pages, replay reports)
/// carry what the recording carries — production traffic and its secrets —
/// so they are written as the recording is: mode 0600 from the first byte,
/// and atomically (a reader never sees half of one; on failure, a file
/// already at the path stays as it was).
package enum PrivateFile {
    /// Writes `data` to `path` through `path.partial` and a rename. Throws
    /// the errno of what failed.
    package static func write(_ data: Data, to path: String) throws(PrivateFileError) {
        do {
            try write(to: path) { add in try add(data) }
        } catch let error as PrivateFileError {
            throw error
        } catch {
            throw PrivateFileError(code: EIO)
        }
    }

    /// Writes what `produce` gives its `add` function, piece by piece, to
    /// `path` through `path.partial` and a rename: a file too large to hold
    /// in memory whole. `add` throws `PrivateFileError`; an error `produce`
    /// throws leaves the file at `path` as it was, and is rethrown.
    ///
    /// A path that is not a regular file — `/dev/null`, `/dev/stdout`, a
    /// FIFO — is written straight through: renaming over it would put a
    /// regular file in place of the device.
    package static func write(to path: String, _ produce: ((Data) throws -> Void) throws -> Void) throws {
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            try writeThrough(to: path, produce)
            return
        }
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PrivateFileError(code: errno) }
        do {
            try produce { data throws(PrivateFileError) in try writeAll(data, to: fd) }
        } catch {
            Glibc.close(fd)
            unlink(temporary)
            throw error
        }
        var failure: Int32 = 0
        if Glibc.close(fd) != 0 { failure = errno }
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw PrivateFileError(code: failure)
        }
    }

    private static func writeThrough(to path: String, _ produce: ((Data) throws -> Void) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PrivateFileError(code: errno) }
        defer { Glibc.close(fd) }
        try produce { data throws(PrivateFileError) in try writeAll(data, to: fd) }
    }

    private static func writeAll(_ data: Data, to fd: Int32) throws(PrivateFileError) {
        let failure = data.withUnsafeBytes { bytes in
            transferWhole(bytes.count) { done in Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
        }
        if failure != 0 { throw PrivateFileError(code: failure) }
    }
}

package struct PrivateFileError: Error, CustomStringConvertible {
    package var code: Int32
    package var description: String { PlainReason.errno(code) }
}
