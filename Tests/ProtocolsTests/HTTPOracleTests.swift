import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Protocols

/// SwiftNIO's llhttp-based decoder as an oracle: on every HTTP specimen, the
/// hand-written framer must read the same methods, targets, statuses,
/// headers and bodies as NIOHTTP1 does (which cannot say where messages end,
/// so cannot do the framing itself; see `HTTPFramer`).
@Suite("HTTP framing agrees with NIOHTTP1")
struct HTTPOracleTests {
    struct Reading: Equatable, CustomStringConvertible {
        var start: String
        var headers: [String]
        var body: [UInt8]

        var description: String { "\(start) \(headers) \(body.count) bytes" }
    }

    static let specimens = Specimens.fixtures.filter { $0.protocol == .http }.map(\.name) + Specimens.written.filter { $0.protocol == .http }.map(\.transcript.name)

    @Test("requests and responses read alike", arguments: specimens)
    func agree(name: String) throws {
        let transcript = try #require(try Specimens.all().first { $0.transcript.name == name }).transcript
        let framed = Framed(transcript, as: .http)
        let requests = framed.side(.client).compactMap(\.http)
        let responses = framed.side(.server).compactMap(\.http)
        let nioRequests = try Self.nioRequests(transcript.bytes(.client))
        #expect(nioRequests[...] == requests.map(Self.reading).prefix(nioRequests.count))
        #expect(!nioRequests.isEmpty)
        let nioResponses = try Self.nioResponses(transcript.bytes(.server), answering: requests)
        #expect(nioResponses[...] == responses.map(Self.reading).prefix(nioResponses.count))
        #expect(!nioResponses.isEmpty)
    }

    @Test("mutated requests: where NIOHTTP1 reads them whole, the framer reads them alike")
    func mutatedRequests() throws {
        let seeds = try Specimens.all().filter { $0.protocol == .http }.map { $0.transcript.bytes(.client) }
        var random = SplitMix64(seed: 1_101)
        var compared = 0
        for _ in 0..<2_000 {
            var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
            let at = Int(random.next() % UInt64(bytes.count))
            let replacements: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x3A, 0x30, 0x7F, 0x80, 0xFF, UInt8(ascii: "a"), UInt8(ascii: "-"), UInt8(ascii: "/")]
            bytes[at] = replacements[Int(random.next() % UInt64(replacements.count))]
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
            guard (try? channel.writeInbound(ByteBuffer(bytes: bytes))) != nil else { continue }
            _ = try? channel.finish()
            let nio = try Self.nioRequests(bytes)
            let framed = Framed(Transcript("mutant", [.init(side: .client, bytes: bytes, time: .zero)]), as: .http)
            let ours = framed.side(.client).compactMap(\.http).map(Self.reading)
            #expect(ours.prefix(nio.count) == nio[...], "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            compared += 1
        }
        #expect(compared > 100)
    }

    /// NIOHTTP1's fields, with the trailing white space RFC 9110 §5.5 excludes from a value (and NIOHTTP1 keeps) trimmed.
    static func fields(_ headers: HTTPHeaders) -> [String] {
        headers.map { "\($0.name): \(Substring($0.value).trimmingASCIIWhitespace())" }
    }

    static func reading(_ message: HTTPMessage) -> Reading {
        let start: String
        switch message.start {
        case .request(let method, let target): start = "\(method) \(target) 1.\(message.minorVersion)"
        case .response(let status, _): start = "\(status) 1.\(message.minorVersion)"
        }
        return Reading(start: start, headers: message.headers.map { "\($0.name): \($0.value)" }, body: Array(message.body.readableBytesView))
    }

    /// What NIOHTTP1 reads, up to the first bytes it refuses (it is stricter:
    /// bare LF line ends, which the framer accepts as servers do, stop it).
    static func nioRequests(_ bytes: [UInt8]) throws -> [Reading] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        return try readings(of: bytes, through: channel, as: HTTPServerRequestPart.self) { part in
            guard case .head(let head) = part else { return nil }
            return Reading(start: "\(head.method.rawValue) \(head.uri) 1.\(head.version.minor)", headers: fields(head.headers), body: [])
        } body: { part in
            if case .body(let body) = part { return body }
            return nil
        }
    }

    static func nioResponses(_ bytes: [UInt8], answering requests: [HTTPMessage]) throws -> [Reading] {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(informationalResponseStrategy: .forward)))
        for request in requests {
            let head = HTTPRequestHead(version: .init(major: 1, minor: request.minorVersion), method: HTTPMethod(rawValue: request.method ?? "GET"), uri: request.target ?? "/")
            try channel.writeOutbound(HTTPClientRequestPart.head(head))
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        }
        return try readings(of: bytes, through: channel, as: HTTPClientResponsePart.self) { part in
            guard case .head(let head) = part else { return nil }
            return Reading(start: "\(head.status.code) 1.\(head.version.minor)", headers: fields(head.headers), body: [])
        } body: { part in
            if case .body(let body) = part { return body }
            return nil
        }
    }

    /// Feeds `bytes` in and collects each head with the body parts after it.
    static func readings<Part>(
        of bytes: [UInt8],
        through channel: EmbeddedChannel,
        as: Part.Type,
        head: (Part) -> Reading?,
        body: (Part) -> ByteBuffer?
    ) throws -> [Reading] {
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        var readings: [Reading] = []
        while let part = try channel.readInbound(as: Part.self) {
            if let reading = head(part) { readings.append(reading) }
            if let bytes = body(part), !readings.isEmpty { readings[readings.count - 1].body += Array(bytes.readableBytesView) }
        }
        _ = try? channel.finish()
        return readings
    }
}
