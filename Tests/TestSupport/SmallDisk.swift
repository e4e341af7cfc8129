import Foundation

/// A place where writes fail past a size, as on a full disk: a tmpfs of
/// that size mounted for the test where the test may mount one (as root),
/// otherwise a plain temporary directory and a file size limit
/// (RLIMIT_FSIZE, `ulimit -f`) on the processes started through it, which
/// makes writes fail the same way (EFBIG; tapedeck ignores SIGXFSZ).
/// `TAPEDECK_TEST_NO_MOUNT=1` forces the file size limit.
public final class SmallDisk {
    public let directory: String
    public let limitBytes: Int
    /// True on a mounted tmpfs (the limit is the whole filesystem's), false
    /// under a file size limit (the limit is each file's).
    public let isMounted: Bool
    private let temporary: TemporaryDirectory

    /// Whether this test run can mount a tmpfs (tests that need a full
    /// disk inside their own process depend on it).
    public static let canMount: Bool = (try? SmallDisk(bytes: 1 << 16))?.isMounted ?? false

    public init(bytes: Int) throws {
        temporary = try TemporaryDirectory()
        directory = temporary.file("disk")
        limitBytes = bytes
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        var mounted = false
        if ProcessInfo.processInfo.environment["TAPEDECK_TEST_NO_MOUNT"] != "1", getuid() == 0,
           let result = try? ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0700", "tmpfs", directory], timeoutSeconds: 10) {
            mounted = result.status == 0
        }
        isMounted = mounted
    }

    deinit {
        remove()
    }

    public func file(_ name: String) -> String {
        directory + "/" + name
    }

    /// `ulimit -f BLOCKS &&` for `TapedeckProcess.proxy(_:shellPrefix:)`,
    /// or nil on a mounted tmpfs. `/bin/sh` counts 512-byte blocks.
    public var shellPrefix: String? {
        isMounted ? nil : "ulimit -f \(isFull ? 0 : limitBytes / 512) &&"
    }

    private var isFull = false

    /// Starts `executable ARGUMENTS` under this disk's limit. Its output
    /// comes through a pipe, which a file size limit does not stop.
    public func start(_ executable: String, _ arguments: [String]) throws -> BackgroundProcess {
        guard let shellPrefix else {
            return try BackgroundProcess(executable, arguments)
        }
        return try BackgroundProcess("/bin/sh", ["-c", "\(shellPrefix) exec \"$0\" \"$@\"", executable] + arguments)
    }

    /// Leaves no room: a mounted disk is filled with a file, and under a
    /// file size limit processes started from now on may write nothing.
    public func makeFull() throws {
        isFull = true
        if isMounted {
            _ = try ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(file(".filler"))", "bs=64k"], timeoutSeconds: 30)
        }
    }

    public func remove() {
        if isMounted {
            _ = try? ChildProcess.run("/bin/umount", ["-l", directory], timeoutSeconds: 10)
        }
        temporary.remove()
    }
}

/// The records of a classic pcap file, walked by their headers.
public enum PcapRecords {
    public struct Layout: Sendable {
        /// Whole records in the file.
        public var records: Int
        /// Where the last whole record ends.
        public var wholeLength: Int
        /// The file's length: more than `wholeLength` when its last record is cut.
        public var fileLength: Int
        public var isTorn: Bool { fileLength != wholeLength }
    }

    /// The layout of the classic pcap (host byte order) at `path`.
    public static func layout(_ path: String) throws -> Layout {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 24 else {
            throw ChildProcess.Failure(description: "\(path) is \(bytes.count) bytes, shorter than a pcap file header")
        }
        var offset = 24
        var records = 0
        while offset + 16 <= bytes.count {
            let captured = bytes[offset + 8..<offset + 12].reversed().reduce(0) { $0 << 8 | Int($1) }
            guard offset + 16 + captured <= bytes.count else { break }
            offset += 16 + captured
            records += 1
        }
        return Layout(records: records, wholeLength: offset, fileLength: bytes.count)
    }
}
