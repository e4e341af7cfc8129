import NIOCore
import Testing

@testable import Protocols

/// The framers' central promise: the messages (and their exact bytes) do not
/// depend on how the bytes were cut, nor on which side was fed first.
@Suite("Framing does not depend on chunking")
struct ChunkingPropertyTests {
    static let chunkings: [Chunking] = [.whole, .bytewise, .serverFirst, .interleavedBytes] + (1...8).map { .random(seed: $0) }

    @Test("every chunking gives the same messages as the recording's own", arguments: try Specimens.all().map(\.transcript.name))
    func sameMessages(name: String) throws {
        let (transcript, protocolKind) = try #require(try Specimens.all().first { $0.transcript.name == name })
        let reference = Framed(transcript, as: protocolKind)
        #expect(reference.failure?.side == Specimens.failing[name], "\(name): \(String(describing: reference.failure))")
        for side in Side.allCases {
            #expect(reference.side(side).flatMap { Array($0.raw.readableBytesView) } == transcript.bytes(side), "\(name) \(side): bytes lost or reordered")
            var offset = 0
            for message in reference.side(side) {
                #expect(message.streamOffset == offset, "\(name) \(side)")
                offset += message.raw.readableBytes
            }
        }
        for chunking in Self.chunkings where protocolKind != .generic {
            let framed = Framed(transcript, as: protocolKind, chunking: chunking)
            #expect(framed.stop == reference.stop, "\(name), \(chunking)")
            for side in Side.allCases {
                // After a failure the connection is turns from the moment it failed, so the other side's split depends on timing.
                if let failing = reference.failure?.side, failing != side { continue }
                #expect(Self.framedPart(framed, side) == Self.framedPart(reference, side), "\(name), \(chunking), \(side)")
                #expect(framed.side(side).flatMap { Array($0.raw.readableBytesView) } == transcript.bytes(side), "\(name), \(chunking), \(side)")
            }
        }
    }

    @Test("generic turns split where the side changes, and not inside one side's run of chunks")
    func turns() throws {
        let transcript = try #require(Specimens.written.first { $0.protocol == .generic }).transcript
        for chunking in [Chunking.asRecorded, .random(seed: 3), .bytewise] {
            let framed = Framed(transcript, as: .generic, chunking: chunking)
            #expect(framed.messages.map(\.text) == ["220 mail ESMTP\r\n", "EHLO me\r\n", "250 ok\r\n", "QUIT\r\n", "221 bye\r\n"])
        }
        let items = ExchangePairer.pair(Framed(transcript, as: .generic).messages, protocol: .generic)
        #expect(items.count == 3)
        if case .unsolicited(let greeting) = items.first { #expect(greeting.text == "220 mail ESMTP\r\n") } else { Issue.record("no greeting") }
    }

    @Test("a turn idle limit splits one side's run where it paused")
    func turnIdle() {
        var framer = TurnFramer(turnIdle: .milliseconds(50))
        var messages: [Message] = []
        messages += framer.feed(ByteBuffer(string: "tick 1\n"), from: .server, at: .milliseconds(0))
        messages += framer.feed(ByteBuffer(string: "tick 2\n"), from: .server, at: .milliseconds(40))
        messages += framer.feed(ByteBuffer(string: "tick 3\n"), from: .server, at: .milliseconds(200))
        messages += framer.finish()
        #expect(messages.map(\.text) == ["tick 1\ntick 2\n", "tick 3\n"])
        #expect(messages.map(\.firstByteAt) == [.zero, .milliseconds(200)])
        #expect(messages.first?.lastByteAt == .milliseconds(40))
    }

    /// A side's protocol messages without times, and its turn bytes (which do depend on chunking) as one run.
    static func framedPart(_ framed: Framed, _ side: Side) -> [Message] {
        let messages = framed.timeless[side] ?? []
        let protocolPart = messages.filter { $0.content != .turn }
        let turnBytes = messages.filter { $0.content == .turn }.flatMap { $0.raw.readableBytesView }
        let turnOffset = messages.first { $0.content == .turn }?.streamOffset ?? 0
        return protocolPart + (turnBytes.isEmpty ? [] : [Message(side: side, raw: ByteBuffer(bytes: turnBytes), streamOffset: turnOffset, content: .turn)])
    }
}
