import Foundation
import Recording

/// The captures a command was named: a directory stands for the captures in
/// it, in name order — what `record --per-session DIR` wrote (its names
/// start with each session's start time), or a folder of rotated files.
enum CaptureFiles {
    /// What counts as a capture in a directory: pcap and pcapng, as
    /// tcpdump, Wireshark and Tapedeck name them, compressed or not.
    static let plainSuffixes = [".pcap", ".pcapng", ".cap"]
    static let suffixes = plainSuffixes.flatMap { [$0, $0 + ".gz", $0 + ".zst"] }

    static func expanding(_ files: [String]) throws -> [String] {
        var expanded: [String] = []
        for file in files {
            var isDirectory: ObjCBool = false
            guard file != "-", FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue else {
                expanded.append(file)
                continue
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: file)
            } catch {
                throw CaptureFilesError("cannot list the directory \(file): \(PlainReason.of(error))")
            }
            let captures = names.filter { name in !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) } }.sorted()
            guard !captures.isEmpty else {
                throw CaptureFilesError("\(file) is a directory with no capture in it (\(plainSuffixes.map { "*" + $0 }.joined(separator: ", ")), or compressed with gzip or zstd)")
            }
            let folder = file.hasSuffix("/") ? String(file.dropLast()) : file
            expanded += captures.map { folder + "/" + $0 }
        }
        return expanded
    }
}

extension CaptureFiles {
    /// The input directory `output` would be written into (and so read
    /// back from, next time), if any.
    static func directory(among files: [String], holding output: String) -> String? {
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().standardizedFileURL.path
        return files.first { file in
            var isDirectory: ObjCBool = false
            return file != "-" && FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && isDirectory.boolValue
                && URL(fileURLWithPath: file).standardizedFileURL.path == folder
        }
    }
}

struct CaptureFilesError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
