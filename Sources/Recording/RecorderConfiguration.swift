import Foundation
import PcapFile
#if canImport(Glibc)
import Glibc
#endif

/// How a `Recorder` writes: one file (optionally rotated, tcpdump-style) or
/// one file per session, and what it does when the disk falls behind.
public struct RecorderConfiguration: Sendable {
    public enum Output: Sendable {
        /// All sessions in one recording at `path`, as a real capture.
        case file(path: String)
        /// One self-contained recording per session in `directory`, named
        /// with its start time and session id.
        case perSession(directory: String)
        /// All sessions as one pcap stream on standard output (`-w -`), for a
        /// reader such as `tshark -r -` or `wireshark -k -i -`; the manifest
        /// goes to `manifest`, or nowhere. Never rotated.
        case standardOutput(manifest: String?)
    }

    /// What to do when frames arrive faster than the disk takes them.
    public enum BacklogPolicy: String, Sendable, CaseIterable {
        /// Lossless: stop reading from the sockets until the queue drains.
        case backpressure
        /// Traffic untouched: drop the bytes from the recording, which then
        /// shows (and counts) a gap.
        case drop
    }

    public var output: Output
    /// Rotate once a file reaches this many bytes (`-C`).
    public var rotateBytes: Int64?
    /// Rotate once a file has been open this long (`-G`).
    public var rotateInterval: Duration?
    /// Keep only the newest N files of a rotated set (`-W`).
    public var ringSize: Int?
    /// Run `COMMAND FILE` through /bin/sh for every finished file (`-z`).
    public var postRotateCommand: String?
    /// Mask bytes matching any of these patterns (PCRE2 syntax, matched on
    /// bytes) with a same-length filler in the recording; a match that spans
    /// reads is masked when it is at most 4 KiB long. Patterns that can match
    /// the empty string are refused.
    public var redactPatterns: [String] = []
    public var backlogPolicy = BacklogPolicy.backpressure
    /// Bytes of payload queued for the disk before the backlog policy applies.
    public var queueCapacity = 32 << 20
    public var flushInterval = Duration.milliseconds(100)
    public var addressing = SyntheticAddressing()
    /// Written into every manifest (fault plan, seed, …).
    public var properties: [String: String] = [:]
    /// Replace a file that is already where a recording's file goes (as
    /// tcpdump's `-w` does); when false, such a file is left alone and
    /// creating it fails.
    public var overwrite: Bool

    /// Everything else starts at its default (no rotation, no redaction,
    /// back-pressure, a 32 MiB queue, a flush every 100 ms); set what differs.
    public init(output: Output, overwrite: Bool = true) {
        self.output = output
        self.overwrite = overwrite
    }

    var rotates: Bool {
        if case .standardOutput = output { return false }
        return rotateBytes != nil || rotateInterval != nil
    }

    /// Files of an earlier recording that this one would replace: the `-w`
    /// file and its manifest, or — when rotating — every file of a set with
    /// the same name (`NAME_00000.pcap`, …) and their manifests. Per-session
    /// files are named by time and session id and replace nothing.
    package var existingFiles: [String] {
        guard case .file(let path) = output else { return [] }
        guard rotates else {
            return [path, Manifest.path(forRecording: path)].filter(Self.isFile)
        }
        let namer = FileNamer(path: path, numbered: true)
        let directory = (path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        return names.sorted().filter(namer.isMember).map { directory.isEmpty ? $0 : directory + "/" + $0 }.filter(Self.isFile)
    }

    /// Throws `RecordingError(.exists)` when a directory is where the file
    /// goes, or — unless `overwrite` — when `existingFiles` are there; every
    /// way of starting a recording says it in these words. `option` names
    /// the path as the user gave it (`-w`, `path`), `optIn` how to replace
    /// (`pass --overwrite`), `instead` another way for a directory.
    package func refuseToReplace(option: String, optIn: String, instead: String? = nil) throws {
        guard case .file(let path) = output else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw RecordingError(.exists, "\(option) \(path) is a directory; name a file in it" + (instead.map { " (or \($0))" } ?? ""))
        }
        // A FIFO or a device takes one stream, as `-w -` does: it is
        // written as it is, never rotated or replaced.
        if PcapWriter.isStream(path) {
            if rotateBytes != nil || rotateInterval != nil || postRotateCommand != nil {
                throw RecordingError(.output, "\(option) \(path) is \(Self.kind(of: path)), which takes one stream: -C, -G and -z need a regular file")
            }
            return
        }
        guard !overwrite else { return }
        let existing = existingFiles
        guard let first = existing.first else { return }
        let more = existing.count > 1 ? " and \(existing.count - 1) more" : ""
        throw RecordingError(.exists, "\(option) \(path): an earlier recording is there (\(first)\(more)); \(optIn) to replace it, or choose another name")
    }

    /// With `overwrite`, removes the earlier recording's files (all of a
    /// rotated set, so the new set is not mixed with the old one); call it
    /// once nothing else can fail before the recorder starts.
    package func removeReplacedFiles() {
        guard overwrite else { return }
        for file in existingFiles {
            try? FileManager.default.removeItem(atPath: file)
        }
    }

    /// A regular file is at `path` (following symbolic links): what an
    /// earlier recording left. A FIFO or a device is never one, so
    /// `--overwrite` never removes it.
    private static func isFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// What a stream path is, for errors.
    private static func kind(of path: String) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { return "not a regular file" }
        switch status.st_mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}
