import Foundation
import NIOCore
import Testing

@testable import Protocols

/// Random and mutated bytes through every framer, the pairer and the keyer:
/// nothing traps, every byte comes back in exactly one message, and a
/// failure says where. Seeded, so a failing case repeats; bounded in count
/// and in time, so the suite stays quick on a loaded machine.
@Suite("Fuzzing the framers")
struct FuzzTests {
    static let casesPerProtocol = 2_500
    static let timeBudget = Duration.seconds(20)

    @Test("random and mutated sessions", arguments: ProtocolKind.allCases)
    func fuzz(protocolKind: ProtocolKind) throws {
        let seeds = try Specimens.all().map { Self.shortened($0.transcript, to: 4_096) }
        var random = SplitMix64(seed: 0x7A9E_DECC + UInt64(ProtocolKind.allCases.firstIndex(of: protocolKind) ?? 0))
        let clock = ContinuousClock()
        let deadline = clock.now + Self.timeBudget
        var cases = 0
        var failures = 0
        while cases < Self.casesPerProtocol, clock.now < deadline {
            let transcript = Self.mutant(of: seeds, random: &random)
            let framed = Framed(transcript, as: protocolKind, chunking: .random(seed: random.next(), longest: 64), limits: Self.limits)
            cases += 1
            for side in Side.allCases {
                let back = framed.side(side).flatMap { Array($0.raw.readableBytesView) }
                guard back == transcript.bytes(side) else {
                    Issue.record("\(protocolKind) case \(cases): \(side) bytes not returned exactly: \(Self.hex(transcript.bytes(side)))")
                    return
                }
            }
            if let failure = framed.failure {
                failures += 1
                #expect(failure.offset >= failure.messageOffset && failure.messageOffset >= 0, "\(failure)")
                #expect(failure.offset <= transcript.bytes(failure.side).count, "\(failure)")
                #expect(!failure.description.isEmpty)
            }
            Self.exercise(framed, protocolKind)
        }
        #expect(cases >= 200, "only \(cases) cases within \(Self.timeBudget)")
        print("fuzz \(protocolKind): \(cases) cases, \(failures) stopped on bytes they could not parse")
    }

    @Test("Redis inline splitting and RESP values on random lines never trap")
    func lines() {
        var random = SplitMix64(seed: 99)
        let alphabet = Array("ab \"'\\x0fF\r\n*$:+-%|>_,#!=(~1?".utf8)
        for _ in 0..<20_000 {
            let line = (0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            _ = RESPCommand.splitInline(line)
            _ = RESPValue(parsing: ByteBuffer(bytes: line))
            _ = CanonicalJSON.canonical(ByteBuffer(bytes: [UInt8(ascii: "[")] + line))
            _ = StatementText.normalized(String(decoding: line, as: UTF8.self))
            _ = QueryString.parameters(String(decoding: line, as: UTF8.self))
        }
    }

    /// Smaller limits, so that "over the limit" paths run too.
    static let limits = FramingLimits(maximumHeadBytes: 2_048, maximumLineBytes: 512, maximumDeclaredBytes: 1 << 20, maximumNestingDepth: 8, maximumCommandArguments: 64)

    /// Pairs, keys, describes and answers what was framed, as a replayer would.
    static func exercise(_ framed: Framed, _ protocolKind: ProtocolKind) {
        var keyer = RequestKeyer(options: KeyOptions(ignoredQueryParameters: ["t"]))
        var state = SessionState(protocol: protocolKind)
        for item in ExchangePairer.pair(framed.messages, protocol: protocolKind) {
            guard case .exchange(let exchange) = item else { continue }
            _ = keyer.key(for: exchange.requests)
            _ = RequestDescription.describe(exchange.requests)
            _ = ProtocolAnswer.unmatched(exchange.requests, explanation: "no match", state: state)
            state.apply(exchange)
        }
        for message in framed.messages {
            if message.redis?.replyType != nil { _ = RESPValue(parsing: message.raw) }
            if let postgres = message.postgres {
                _ = (postgres.startupParameters, postgres.parse, postgres.bind, postgres.noticeFields, postgres.notification, postgres.parameterStatus, postgres.target, postgres.execute)
            }
        }
    }

    /// A session made from a seed by one of several mutations, or from nothing.
    static func mutant(of seeds: [Transcript], random: inout SplitMix64) -> Transcript {
        let seed = seeds[Int(random.next() % UInt64(seeds.count))]
        var client = seed.bytes(.client)
        var server = seed.bytes(.server)
        let rounds = 1 + Int(random.next() % 4)
        for _ in 0..<rounds {
            if random.next() % 2 == 0 { mutate(&client, donor: seeds.randomElement(using: &random)?.bytes(.client) ?? [], random: &random) }
            if random.next() % 2 == 0 { mutate(&server, donor: seeds.randomElement(using: &random)?.bytes(.server) ?? [], random: &random) }
        }
        if random.next() % 8 == 0 {
            client = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            server = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        return Transcript("mutant", [.init(side: .client, bytes: client, time: .zero), .init(side: .server, bytes: server, time: .milliseconds(1))])
    }

    private static func mutate(_ bytes: inout [UInt8], donor: [UInt8], random: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let at = Int(random.next() % UInt64(bytes.count))
        switch random.next() % 8 {
        case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
        case 1: bytes[at] ^= 1 << (random.next() % 8)
        case 2: bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(random.next() % 16)))
        case 3: bytes.insert(contentsOf: (0..<(1 + random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        case 4: bytes.replaceSubrange(at..<min(bytes.count, at + 4), with: [0xFF, 0xFF, 0xFF, 0xFF].prefix(Int(random.next() % 5)))
        case 5: bytes = Array(bytes.prefix(at))
        case 6:
            let length = min(bytes.count - at, 1 + Int(random.next() % 64))
            bytes.insert(contentsOf: bytes[at..<(at + length)], at: at)
        default:
            guard !donor.isEmpty else { return }
            let from = Int(random.next() % UInt64(donor.count))
            bytes.insert(contentsOf: donor[from..<min(donor.count, from + 1 + Int(random.next() % 200))], at: at)
        }
    }

    /// The transcript's first `count` bytes of each side.
    static func shortened(_ transcript: Transcript, to count: Int) -> Transcript {
        var left: [Side: Int] = [.client: count, .server: count]
        let chunks = transcript.chunks.compactMap { chunk -> Transcript.Chunk? in
            let keep = min(left[chunk.side, default: 0], chunk.bytes.count)
            left[chunk.side, default: 0] -= keep
            return keep == 0 ? nil : Transcript.Chunk(side: chunk.side, bytes: Array(chunk.bytes.prefix(keep)), time: chunk.time)
        }
        return Transcript(transcript.name, chunks)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.prefix(400).map { String(format: "%02x", $0) }.joined()
    }
}
