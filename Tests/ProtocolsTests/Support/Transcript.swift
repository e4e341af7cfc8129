import Foundation
import NIOCore
import Protocols

/// A connection's bytes as each side sent them, in order, with times: what
/// the tests feed to framers, from hand-written specs or captured fixtures.
struct Transcript: Sendable, CustomStringConvertible {
    struct Chunk: Sendable {
        var side: Side
        var bytes: [UInt8]
        var time: Duration
    }

    var name: String
    var chunks: [Chunk]

    init(_ name: String, _ chunks: [Chunk]) {
        self.name = name
        self.chunks = chunks
    }

    /// A transcript from alternating text, client first unless `serverFirst`; times one millisecond apart.
    init(_ name: String, client: [String], server: [String]) {
        var chunks: [Chunk] = []
        for index in 0..<max(client.count, server.count) {
            if index < client.count { chunks.append(Chunk(side: .client, bytes: Array(client[index].utf8), time: .milliseconds(chunks.count))) }
            if index < server.count { chunks.append(Chunk(side: .server, bytes: Array(server[index].utf8), time: .milliseconds(chunks.count))) }
        }
        self.init(name, chunks)
    }

    var description: String { name }

    func bytes(_ side: Side) -> [UInt8] {
        chunks.filter { $0.side == side }.flatMap(\.bytes)
    }

    /// Loads a fixture: one chunk per line, `c|s SECONDS HEX`; `#` starts a comment.
    static func fixture(_ name: String) throws -> Transcript {
        guard let url = Bundle.module.url(forResource: name, withExtension: "chunks", subdirectory: "Fixtures") else {
            throw FixtureError(message: "no fixture \(name).chunks")
        }
        var chunks: [Chunk] = []
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let seconds = Double(fields[1]) else { throw FixtureError(message: "bad line \(line.prefix(40))") }
            var bytes: [UInt8] = []
            var hex = fields[2].utf8.makeIterator()
            while let high = hex.next(), let low = hex.next() {
                guard let byte = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { throw FixtureError(message: "bad hex") }
                bytes.append(byte)
            }
            chunks.append(Chunk(side: fields[0] == "c" ? .client : .server, bytes: bytes, time: .nanoseconds(Int64(seconds * 1e9))))
        }
        return Transcript(name, chunks)
    }

    struct FixtureError: Error {
        var message: String
    }
}

/// How a transcript's chunks are cut before they are fed.
enum Chunking: Sendable, CustomStringConvertible {
    case asRecorded
    case whole
    case bytewise
    /// Each chunk cut at random points into pieces of 1 to `longest` bytes.
    case random(seed: UInt64, longest: Int = 17)
    /// All of the server's bytes before any of the client's (as one side waits for the other).
    case serverFirst
    /// As recorded, but each chunk cut one byte at a time and the sides alternated byte by byte.
    case interleavedBytes

    var description: String {
        switch self {
        case .asRecorded: return "as recorded"
        case .whole: return "each side whole"
        case .bytewise: return "one byte at a time"
        case .random(let seed, _): return "random splits (seed \(seed))"
        case .serverFirst: return "server first"
        case .interleavedBytes: return "sides interleaved byte by byte"
        }
    }

    /// The chunks to feed, in order.
    func cut(_ transcript: Transcript) -> [Transcript.Chunk] {
        switch self {
        case .asRecorded:
            return transcript.chunks
        case .whole:
            return Side.allCases.map { side in
                Transcript.Chunk(side: side, bytes: transcript.bytes(side), time: .zero)
            }
        case .serverFirst:
            return [Side.server, .client].map { side in
                Transcript.Chunk(side: side, bytes: transcript.bytes(side), time: .zero)
            }
        case .bytewise:
            return transcript.chunks.flatMap { chunk in chunk.bytes.map { Transcript.Chunk(side: chunk.side, bytes: [$0], time: chunk.time) } }
        case .interleavedBytes:
            var client = transcript.bytes(.client)[...]
            var server = transcript.bytes(.server)[...]
            var chunks: [Transcript.Chunk] = []
            while !client.isEmpty || !server.isEmpty {
                if let byte = client.popFirst() { chunks.append(.init(side: .client, bytes: [byte], time: .zero)) }
                if let byte = server.popFirst() { chunks.append(.init(side: .server, bytes: [byte], time: .zero)) }
            }
            return chunks
        case .random(let seed, let longest):
            var random = SplitMix64(seed: seed)
            return transcript.chunks.flatMap { chunk -> [Transcript.Chunk] in
                var pieces: [Transcript.Chunk] = []
                var rest = chunk.bytes[...]
                while !rest.isEmpty {
                    let length = Int(random.next() % UInt64(min(rest.count, longest))) + 1
                    pieces.append(.init(side: chunk.side, bytes: Array(rest.prefix(length)), time: chunk.time))
                    rest = rest.dropFirst(length)
                }
                return pieces
            }
        }
    }
}

/// A small seeded generator, so every random test repeats exactly.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The outcome of framing a transcript: messages per side in stream order, and why framing stopped.
struct Framed: Sendable {
    var messages: [Message]
    var stop: FramerStop?

    init(_ transcript: Transcript, as protocolKind: ProtocolKind, chunking: Chunking = .asRecorded, limits: FramingLimits = FramingLimits()) {
        var framer = ConnectionFramer(protocol: protocolKind, limits: limits)
        var messages: [Message] = []
        for chunk in chunking.cut(transcript) {
            messages += framer.feed(ByteBuffer(bytes: chunk.bytes), from: chunk.side, at: chunk.time)
        }
        messages += framer.finish()
        self.messages = messages
        self.stop = framer.stop
    }

    func side(_ side: Side) -> [Message] {
        messages.filter { $0.side == side }
    }

    /// Each side's messages without their times, which depend on chunking: what must not.
    var timeless: [Side: [Message]] {
        Dictionary(uniqueKeysWithValues: Side.allCases.map { side in
            (side, self.side(side).map { message in
                var message = message
                message.firstByteAt = .zero
                message.lastByteAt = .zero
                return message
            })
        })
    }

    var failure: FramingError? {
        if case .failed(let error) = stop { return error }
        return nil
    }
}

extension Message {
    var text: String { String(buffer: raw) }
}
