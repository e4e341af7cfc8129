import Foundation

/// Runs the real tshark over files the tests wrote or captured: Wireshark's
/// own reading is the oracle for what Tapedeck writes and reads.
enum TShark {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Both directions of TCP stream `stream` as "Follow TCP Stream" (raw) gives them.
    /// `client` is what the stream's first sender sent.
    static func follow(_ path: String, streams: [Int]) throws -> [Int: (client: [UInt8], server: [UInt8])] {
        var arguments = ["-r", path, "-q"]
        for stream in streams {
            arguments += ["-z", "follow,tcp,raw,\(stream)"]
        }
        let output = try run(arguments)
        var result: [Int: (client: [UInt8], server: [UInt8])] = [:]
        var current: Int?
        var client: [UInt8] = []
        var server: [UInt8] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Filter: tcp.stream eq ") {
                current = Int(line.dropFirst("Filter: tcp.stream eq ".count))
                client = []
                server = []
            } else if line.hasPrefix("=====") {
                if let stream = current { result[stream] = (client, server) }
                current = nil
            } else if current != nil, !line.hasPrefix("Node "), !line.hasPrefix("Follow:"), !line.isEmpty {
                if line.hasPrefix("\t") {
                    server += try hexBytes(line.dropFirst())
                } else {
                    client += try hexBytes(line)
                }
            }
        }
        return result
    }

    static func follow(_ path: String, stream: Int) throws -> (client: [UInt8], server: [UInt8]) {
        guard let result = try follow(path, streams: [stream])[stream] else {
            throw Failure(description: "tshark printed no stream \(stream) for \(path)")
        }
        return result
    }

    /// Every frame tshark flags as malformed, with a bad IP or TCP checksum
    /// (validation switched on), or with a warning or error expert item —
    /// TCP analysis warnings included. One line per problem: "frame: message".
    static func problems(_ path: String) throws -> [String] {
        let output = try run([
            "-r", path,
            "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.check_checksum:TRUE",
            "-o", "tcp.analyze_sequence_numbers:TRUE",
            "-Y", "_ws.malformed or _ws.expert.severity >= 6291456 or tcp.analysis.flags",
            "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message", "-e", "tcp.flags.str",
        ])
        return output.split(separator: "\n").map(String.init)
    }

    /// Number of TCP conversations tshark sees.
    static func streamCount(_ path: String) throws -> Int {
        let output = try run(["-r", path, "-T", "fields", "-e", "tcp.stream"])
        return Set(output.split(separator: "\n")).count
    }

    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "tshark \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errorData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
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
            default: throw Failure(description: "unexpected character in tshark hex output: \(text.prefix(40))")
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
