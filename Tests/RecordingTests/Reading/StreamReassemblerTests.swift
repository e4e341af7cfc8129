import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// Reassembly of synthetic flows put into disorder: every byte compared,
/// every gap's size exact.
@Suite struct StreamReassemblerTests {
    @Test func inOrderSessionDeliversEverythingAndKeepsNothing() throws {
        var flow = TestFlow()
        let request = testBytes(5000, seed: 1)
        let response = testBytes(7000, seed: 2)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        capture.add(flow, flow.send(.clientToServer, request))
        capture.add(flow, flow.send(.serverToClient, response))
        capture.add(flow, [flow.fin(.clientToServer), flow.fin(.serverToClient), flow.ack(.clientToServer)])

        let (result, held) = try capture.reassemble()

        #expect(held.allSatisfy { $0 == 0 }, "in-order bytes must never be held")
        try #require(result.sessions.count == 1)
        let stream = result.sessions[0]
        #expect(stream.session.client == (try Endpoint(parsing: "10.0.0.1:50000")))
        #expect(stream.session.server == (try Endpoint(parsing: "10.0.0.2:6379")))
        #expect(!stream.session.startedMidFlow)
        #expect(stream.session.opened == capture.times[0])
        #expect(stream.mergedSteps == [
            .data(.clientToServer, request), .data(.serverToClient, response),
            .halfClose(.clientToServer), .halfClose(.serverToClient),
        ])
        #expect(stream.end == .fin)
        #expect(stream.closedAt == capture.times[capture.times.count - 2])
        // Each data event carries the time of the packet that carried it.
        #expect(stream.times.prefix(5) == capture.times[3..<8])
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func shuffledDuplicatedAndOverlappingSegmentsReassembleExactly(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var flow = TestFlow(clientISN: UInt32.random(in: 0...UInt32.max, using: &generator))
        let request = testBytes(20_000, seed: seed)
        let handshake = flow.handshake()
        let start = flow.next(.clientToServer)
        var segments = flow.send(.clientToServer, request, segmentSize: 500)
        segments.append(flow.fin(.clientToServer))
        for _ in 0..<20 {
            segments.append(segments[Int.random(in: 0..<segments.count, using: &generator)])
            let from = Int.random(in: 0..<request.count - 1, using: &generator)
            let to = Int.random(in: from + 1...min(request.count, from + 1500), using: &generator)
            segments.append(TestFlow.Segment(
                direction: .clientToServer, sequence: start &+ UInt32(from), acknowledgement: flow.next(.serverToClient),
                flags: .ack, payload: Array(request[from..<to])
            ))
        }
        segments.shuffle(using: &generator)
        var capture = SyntheticCapture()
        capture.add(flow, handshake + segments + [flow.fin(.serverToClient), flow.ack(.clientToServer)])
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let result = try capture.writeAndRead(in: directory)

        try #require(result.sessions.count == 1)
        #expect(result.sessions[0].bytes(.clientToServer) == request)
        #expect(result.sessions[0].gaps(.clientToServer) == [])
        #expect(result.sessions[0].end == .fin)
        #expect(try capture.reassemble().heldAfterEach.last == 0)
    }

    @Test func overlappingBytesKeepTheFirstCopy() throws {
        var flow = TestFlow()
        let handshake = flow.handshake()
        let start = flow.next(.clientToServer)
        func segment(_ offset: UInt32, _ byte: UInt8, _ count: Int) -> TestFlow.Segment {
            TestFlow.Segment(direction: .clientToServer, sequence: start &+ offset, acknowledgement: flow.next(.serverToClient), flags: .ack, payload: [UInt8](repeating: byte, count: count))
        }
        var capture = SyntheticCapture()
        // Held out of order first, then overlapped on both sides by an in-order segment.
        capture.add(flow, handshake + [segment(100, 0x41, 200), segment(0, 0x42, 400)])
        // Delivered first, then retransmitted with other bytes and 100 more.
        capture.add(flow, [segment(400, 0x43, 200), segment(500, 0x44, 200)])

        let (result, held) = try capture.reassemble()

        let expected = [UInt8](repeating: 0x42, count: 100) + [UInt8](repeating: 0x41, count: 200)
            + [UInt8](repeating: 0x42, count: 100) + [UInt8](repeating: 0x43, count: 200) + [UInt8](repeating: 0x44, count: 100)
        #expect(result.sessions[0].bytes(.clientToServer) == expected)
        #expect(held[3] == 200, "the out-of-order segment is held")
        #expect(held[4] == 0, "and released once the hole is filled")
        // Held bytes are delivered at the time of the packet that completed them.
        #expect(result.sessions[0].times.allSatisfy { $0 >= capture.times[4] })
    }

    enum GapEvidence: String, CaseIterable, CustomTestStringConvertible {
        /// The server acknowledges everything: the receiver has the bytes.
        case acknowledged
        /// Nothing more arrives: the gap shows at finish.
        case endOfCapture
        /// More is held out of order than the limit allows.
        case heldTooMuch
        var testDescription: String { rawValue }
    }

    @Test(arguments: GapEvidence.allCases)
    func droppedSegmentBecomesAGapOfItsSize(evidence: GapEvidence) throws {
        var flow = TestFlow()
        let request = testBytes(10_000, seed: 3)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        var segments = flow.send(.clientToServer, request, segmentSize: 1000)
        segments.remove(at: 3)
        capture.add(flow, segments)
        switch evidence {
        case .acknowledged:
            capture.add(flow, [flow.ack(.serverToClient), flow.fin(.clientToServer), flow.fin(.serverToClient), flow.ack(.clientToServer)])
        case .endOfCapture:
            capture.add(flow, [flow.fin(.clientToServer)])
        case .heldTooMuch:
            break
        }
        let limits = StreamReassembler.Limits(maximumHeldBytes: evidence == .heldTooMuch ? 2500 : 1 << 20)

        let (result, held) = try capture.reassemble(limits: limits)

        let stream = result.sessions[0]
        let steps = stream.mergedSteps
        #expect(steps.prefix(3) == [
            .data(.clientToServer, Array(request[0..<3000])), .gap(.clientToServer, 1000), .data(.clientToServer, Array(request[4000...])),
        ])
        #expect(held.allSatisfy { $0 <= limits.maximumHeldBytes })
        switch evidence {
        case .acknowledged:
            #expect(stream.end == .fin)
            #expect(held[held.count - 5] == 0, "the ACK releases what was held")
        case .endOfCapture:
            #expect(steps.last == .halfClose(.clientToServer))
            #expect(stream.end == .open)
        case .heldTooMuch:
            #expect(held[held.count - 2] < 2500)
            #expect(stream.end == .open)
        }
    }

    @Test func sequenceNumbersWrapAroundInAndOutOfOrder() throws {
        var flow = TestFlow(clientISN: 0xFFFF_FC00, serverISN: 0xFFFF_FFFE)
        let request = testBytes(10_000, seed: 4)
        let response = testBytes(3000, seed: 5)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        var segments = flow.send(.clientToServer, request, segmentSize: 700)
        segments.swapAt(0, 2)
        capture.add(flow, segments)
        capture.add(flow, flow.send(.serverToClient, response, segmentSize: 1))
        capture.add(flow, [flow.fin(.clientToServer), flow.fin(.serverToClient)])

        let result = try capture.reassemble().result

        #expect(result.sessions[0].bytes(.clientToServer) == request)
        #expect(result.sessions[0].bytes(.serverToClient) == response)
        #expect(result.sessions[0].end == .fin)
    }

    @Test func streamsLongerThan4GiBKeepTheirOffsets() throws {
        // Segments cut by the snapshot length: 8 bytes captured, 65,000 lost each.
        var reassembler = StreamReassembler()
        var delivered: [UInt8] = []
        var lost = 0
        var halfClosed = false
        func record(_ event: ReassemblyEvent) {
            guard case .event(_, let event) = event else { return }
            switch event.kind {
            case .data(let buffer): delivered += buffer.readableBytesView
            case .gap(let count): lost += count
            case .halfClose: halfClosed = true
            case .reset: Issue.record("unexpected reset")
            }
        }
        let marker: [UInt8] = Array("chunk!!!".utf8)
        var sequence: UInt32 = 0x1000
        var segmentCount = 0
        let time = Timestamp(nanosecondsSinceEpoch: 0)
        func send(_ payload: [UInt8], missing: Int, flags: TCPSegment.Flags = .ack) {
            payload.withUnsafeBytes { bytes in
                let segment = TCPSegment(
                    source: .v4(0x0A00_0001), sourcePort: 50000, destination: .v4(0x0A00_0002), destinationPort: 80,
                    sequenceNumber: sequence, acknowledgementNumber: 1, flags: flags, payload: bytes, missingPayloadBytes: missing
                )
                reassembler.process(segment, at: time, emit: record)
            }
            sequence &+= UInt32(payload.count + missing) + (flags.contains(.fin) ? 1 : 0)
        }
        while Int64(segmentCount) * 65_008 <= Int64(UInt32.max) + 200_000 {
            send(marker, missing: 65_000)
            segmentCount += 1
        }
        // Past 2^32 bytes: one segment out of order, then the one before it, then a FIN.
        let first = sequence
        sequence &+= 5
        send(Array("world".utf8), missing: 0)
        sequence = first
        send(Array("hello".utf8), missing: 0)
        sequence &+= 5
        send([], missing: 0, flags: [.fin, .ack])
        reassembler.finish(emit: record)

        #expect(delivered.count == segmentCount * 8 + 10)
        #expect(Array(delivered.suffix(18)) == marker + Array("helloworld".utf8))
        #expect(lost == segmentCount * 65_000)
        #expect(Int64(delivered.count + lost) > Int64(UInt32.max))
        #expect(halfClosed)
    }

    struct MidFlow: CustomTestStringConvertible, Sendable {
        var client: String
        var server: String
        var serverSpeaksFirst: Bool
        var testDescription: String { "client \(client), server \(server)" }
    }

    @Test(arguments: [
        MidFlow(client: "10.0.0.1:50000", server: "10.0.0.2:6379", serverSpeaksFirst: true),
        MidFlow(client: "10.0.0.1:6000", server: "10.0.0.2:443", serverSpeaksFirst: true),
        MidFlow(client: "10.0.0.1:51000", server: "10.0.0.2:50000", serverSpeaksFirst: true),
        MidFlow(client: "[fe80::1]:40000", server: "[fe80::2]:5432", serverSpeaksFirst: false),
    ])
    func captureStartingMidFlowTakesRolesFromPorts(_ case: MidFlow) throws {
        var flow = TestFlow(client: `case`.client, server: `case`.server, clientISN: 77_000, serverISN: 0xFFFF_FF00)
        _ = flow.handshake()
        _ = flow.send(.clientToServer, testBytes(300, seed: 6))
        let first: Direction = `case`.serverSpeaksFirst ? .serverToClient : .clientToServer
        let a = testBytes(2500, seed: 7)
        let b = testBytes(1500, seed: 8)
        var capture = SyntheticCapture()
        capture.add(flow, flow.send(first, a))
        capture.add(flow, flow.send(first.reversed, b))
        capture.add(flow, flow.send(first, b))

        let result = try capture.reassemble().result

        try #require(result.sessions.count == 1)
        let stream = result.sessions[0]
        #expect(stream.session.client == (try Endpoint(parsing: `case`.client)))
        #expect(stream.session.server == (try Endpoint(parsing: `case`.server)))
        #expect(stream.session.startedMidFlow)
        #expect(stream.bytes(first) == a + b)
        #expect(stream.bytes(first.reversed) == b)
        #expect(stream.end == .open)
    }

    @Test func synDecidesRolesEvenAgainstThePorts() throws {
        // An active-mode FTP data connection: the server (port 20) connects out.
        var flow = TestFlow(client: "10.0.0.1:20", server: "10.0.0.2:40000")
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        capture.add(flow, flow.send(.clientToServer, testBytes(100, seed: 9)))

        let session = try capture.reassemble().result.sessions[0].session

        #expect(session.client == (try Endpoint(parsing: "10.0.0.1:20")))
        #expect(!session.startedMidFlow)
    }

    @Test func synAckWithoutItsSynStillGivesRolesAndStart() throws {
        var flow = TestFlow()
        let handshake = flow.handshake()
        let request = testBytes(1200, seed: 10)
        var segments = flow.send(.clientToServer, request, segmentSize: 600)
        segments.swapAt(0, 1)
        var capture = SyntheticCapture()
        capture.add(flow, Array(handshake.dropFirst()) + segments)

        let stream = try capture.reassemble().result.sessions[0]

        #expect(stream.session.client == (try Endpoint(parsing: "10.0.0.1:50000")))
        #expect(stream.bytes(.clientToServer) == request)
        #expect(stream.gaps(.clientToServer) == [])
    }

    @Test func dataOnTheSynIsDelivered() throws {
        var flow = TestFlow()
        let early = Array("GET / HTTP/1.1\r\n".utf8)
        let syn = TestFlow.Segment(direction: .clientToServer, sequence: flow.clientNext, acknowledgement: 0, flags: .syn, payload: early)
        flow.advance(.clientToServer, by: UInt32(early.count) + 1)
        let synAck = TestFlow.Segment(direction: .serverToClient, sequence: flow.serverNext, acknowledgement: flow.clientNext, flags: [.syn, .ack], payload: [])
        flow.advance(.serverToClient, by: 1)
        let rest = Array("Host: x\r\n\r\n".utf8)
        var capture = SyntheticCapture()
        capture.add(flow, [syn, syn, synAck] + flow.send(.clientToServer, rest))

        let stream = try capture.reassemble().result.sessions[0]

        #expect(stream.bytes(.clientToServer) == early + rest)
    }

    @Test func keepAliveProbesDeliverNothing() throws {
        var flow = TestFlow()
        let request = testBytes(2000, seed: 11)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        capture.add(flow, flow.send(.clientToServer, Array(request[..<1000])))
        let probeSequence = flow.next(.clientToServer) &- 1
        for payload in [[], [0]] as [[UInt8]] {
            capture.add(flow, [TestFlow.Segment(direction: .clientToServer, sequence: probeSequence, acknowledgement: flow.next(.serverToClient), flags: .ack, payload: payload)])
            capture.add(flow, [flow.ack(.serverToClient)])
        }
        capture.add(flow, flow.send(.clientToServer, Array(request[1000...])))

        let stream = try capture.reassemble().result.sessions[0]

        #expect(stream.bytes(.clientToServer) == request)
        #expect(stream.gaps(.clientToServer) == [])
    }

    @Test func resetCarryingDataDeliversNoneOfIt() throws {
        var flow = TestFlow()
        let request = testBytes(800, seed: 12)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        capture.add(flow, flow.send(.clientToServer, request))
        capture.add(flow, [flow.segment(.serverToClient, payload: Array("connection refused".utf8), flags: [.rst, .ack])])
        // Late packets of the reset connection start nothing new.
        capture.add(flow, [flow.ack(.clientToServer), flow.fin(.clientToServer)])

        let result = try capture.reassemble().result

        try #require(result.sessions.count == 1)
        #expect(result.sessions[0].mergedSteps == [.data(.clientToServer, request), .reset(.serverToClient)])
        #expect(result.sessions[0].end == .reset)
    }

    @Test func portReuseStartsANewSession() throws {
        var first = TestFlow(clientISN: 1000)
        var second = TestFlow(clientISN: 900_000_000)
        var third = TestFlow(clientISN: 2_000_000_000)
        let one = testBytes(500, seed: 13)
        let two = testBytes(600, seed: 14)
        let three = testBytes(700, seed: 15)
        var capture = SyntheticCapture()
        capture.add(first, first.handshake() + first.send(.clientToServer, one))
        capture.add(first, [first.fin(.clientToServer), first.fin(.serverToClient), first.ack(.clientToServer)])
        capture.add(first, [first.ack(.clientToServer)])
        // The second connection's first 300 bytes are not captured, and it is
        // never closed: a new SYN ends it, releasing what it held.
        capture.add(second, second.handshake() + Array(second.send(.serverToClient, two, segmentSize: 300).dropFirst()))
        let thirdSyn = capture.frames.count
        capture.add(third, third.handshake() + third.send(.clientToServer, three))

        let (result, held) = try capture.reassemble()

        try #require(result.sessions.count == 3)
        #expect(result.sessions.map(\.session.index) == [0, 1, 2])
        #expect(result.sessions[0].bytes(.clientToServer) == one)
        #expect(result.sessions[0].end == .fin)
        #expect(result.sessions[1].mergedSteps == [.gap(.serverToClient, 300), .data(.serverToClient, Array(two[300...]))])
        #expect(result.sessions[1].end == .open)
        #expect(held[thirdSyn - 1] == 300)
        #expect(held[thirdSyn] == 0)
        #expect(result.sessions[2].bytes(.clientToServer) == three)
        #expect(result.closedOrder == [0, 1, 2])
    }

    @Test func dataBeyondTheFinIsDropped() throws {
        var flow = TestFlow()
        let request = testBytes(1000, seed: 16)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        let data = flow.segment(.clientToServer, payload: request)
        let fin = flow.fin(.clientToServer)
        let beyond = flow.segment(.clientToServer, payload: testBytes(500, seed: 17))
        capture.add(flow, [beyond, fin, data, flow.ack(.serverToClient)])

        let (result, held) = try capture.reassemble()

        #expect(result.sessions[0].mergedSteps == [.data(.clientToServer, request), .halfClose(.clientToServer)])
        #expect(held[3] == 500)
        #expect(held[4] == 0, "the FIN ends the stream: what lies beyond it is let go")
    }

    enum ClosedMemory: String, CaseIterable, CustomTestStringConvertible {
        /// Within the defaults, a late ACK belongs to the closed connection.
        case remembered
        /// Beyond `maximumClosedConnections`, it starts a new (mid-flow) one.
        case tooManyClosed
        /// Beyond `closedConnectionLifetime`, too.
        case tooLongAgo
        var testDescription: String { rawValue }
    }

    @Test(arguments: ClosedMemory.allCases)
    func closedConnectionsAreRememberedWithinTheLimits(memory: ClosedMemory) throws {
        var flow = TestFlow()
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake() + flow.send(.clientToServer, testBytes(10, seed: 18)))
        capture.add(flow, [flow.fin(.clientToServer), flow.fin(.serverToClient)])
        capture.wait(.seconds(60))
        capture.add(flow, [flow.ack(.clientToServer)])
        var limits = StreamReassembler.Limits()
        switch memory {
        case .remembered: break
        case .tooManyClosed: limits.maximumClosedConnections = 0
        case .tooLongAgo: limits.closedConnectionLifetime = .seconds(30)
        }

        let result = try capture.reassemble(limits: limits).result

        #expect(result.sessions[0].end == .fin)
        #expect(result.sessions.count == (memory == .remembered ? 1 : 2))
        #expect(result.sessions.dropFirst().allSatisfy { $0.session.startedMidFlow && $0.steps.isEmpty })
    }
}
