import Foundation
import Recording

/// The real tshark, the oracle for what a capture holds.
public enum TShark {
    /// One TCP conversation as "Follow TCP Stream" (raw) gives it: the bytes
    /// each of its two nodes sent.
    public struct FollowedStream: Sendable {
        public var index: Int
        public var nodes: [Endpoint]
        public var sent: [[UInt8]]

        /// What `endpoint` sent, or nil when it is not one of the nodes.
        public func bytes(sentBy endpoint: Endpoint) -> [UInt8]? {
            nodes.firstIndex(of: endpoint).map { sent[$0] }
        }
    }

    /// Every TCP stream in the capture, followed.
    public static func followEveryStream(_ path: String) throws -> [FollowedStream] {
        let indexes = Set(try run(["-r", path, "-T", "fields", "-e", "tcp.stream"]).split(separator: "\n").compactMap { Int($0) }).sorted()
        if indexes.isEmpty { return [] }
        let streams = try parseFollow(try run(["-r", path, "-q"] + indexes.flatMap { ["-z", "follow,tcp,raw,\($0)"] }))
        guard streams.count == indexes.count, streams.allSatisfy({ $0.nodes.count == 2 }) else {
            throw ChildProcess.Failure(description: "tshark followed \(streams.count) of the \(indexes.count) streams in \(path)")
        }
        return streams
    }

    /// Streams `streams` as Follow TCP Stream (raw) gives them: `client` is
    /// what the stream's first node (its first sender) sent.
    public static func follow(_ path: String, streams: [Int]) throws -> [Int: (client: [UInt8], server: [UInt8])] {
        let output = try run(["-r", path, "-q"] + streams.flatMap { ["-z", "follow,tcp,raw,\($0)"] })
        var result: [Int: (client: [UInt8], server: [UInt8])] = [:]
        for stream in try parseFollow(output) {
            result[stream.index] = (stream.sent[0], stream.sent[1])
        }
        return result
    }

    public static func follow(_ path: String, stream: Int) throws -> (client: [UInt8], server: [UInt8]) {
        guard let result = try follow(path, streams: [stream])[stream] else {
            throw ChildProcess.Failure(description: "tshark printed no stream \(stream) for \(path)")
        }
        return result
    }

    /// Number of TCP conversations tshark sees.
    public static func streamCount(_ path: String) throws -> Int {
        Set(try run(["-r", path, "-T", "fields", "-e", "tcp.stream"]).split(separator: "\n")).count
    }

    /// Parses `-z follow,tcp,raw,N` output: lines with a leading tab are the
    /// second node's bytes.
    private static func parseFollow(_ output: String) throws -> [FollowedStream] {
        var streams: [FollowedStream] = []
        var current: FollowedStream?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Filter: tcp.stream eq ") {
                current = FollowedStream(index: Int(line.dropFirst("Filter: tcp.stream eq ".count)) ?? -1, nodes: [], sent: [[], []])
            } else if line.hasPrefix("=====") {
                if let stream = current { streams.append(stream) }
                current = nil
            } else if line.hasPrefix("Node "), let colon = line.firstIndex(of: ":") {
                let text = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                current?.nodes.append(try Endpoint(parsing: text))
            } else if current != nil, !line.hasPrefix("Follow:"), !line.isEmpty {
                if line.hasPrefix("\t") {
                    current?.sent[1] += try hexBytes(line.dropFirst())
                } else {
                    current?.sent[0] += try hexBytes(line)
                }
            }
        }
        return streams
    }

    /// Every frame tshark flags as malformed, with a bad IP or TCP checksum
    /// (validation switched on), with a warning or error expert item, or with
    /// a TCP analysis flag. One line per frame: its number, expert messages, TCP flags.
    public static func problems(_ path: String) throws -> [String] {
        try run([
            "-r", path,
            "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.check_checksum:TRUE",
            "-Y", "_ws.malformed or _ws.expert.severity >= 6291456 or tcp.analysis.flags",
            "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message", "-e", "tcp.flags.str",
        ]).split(separator: "\n").map(String.init)
    }

    public static func run(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run("/usr/bin/tshark", arguments)
        guard result.status == 0 else {
            throw ChildProcess.Failure(description: "tshark \(arguments.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
        return String(decoding: result.standardOutput, as: UTF8.self)
    }

    private static func hexBytes(_ text: Substring) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var high: UInt8?
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            default: throw ChildProcess.Failure(description: "unexpected character in tshark's hex: \(text.prefix(40))")
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes
    }
}
