import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// Every link type and IP variant the reader accepts, decoded from frames
/// written to a real pcap file and read back through libpcap.
@Suite struct LinkDecoderTests {
    static let framings: [LinkFraming] = [
        .ethernet, .vlan([0x8100]), .vlan([0x88A8, 0x8100]), .vlan([0x9100, 0x8100, 0x8100]), .paddedEthernet,
        .linuxCooked, .linuxCooked2, .raw, .loop,
        .null(bigEndian: false, ipv6Family: 24), .null(bigEndian: true, ipv6Family: 28), .null(bigEndian: false, ipv6Family: 30),
    ]

    @Test(arguments: framings, [false, true])
    func everyFramingReassemblesExactly(framing: LinkFraming, ipv6: Bool) throws {
        var flow = ipv6 ? TestFlow(client: "[2001:db8::1]:50000", server: "[2001:db8::2]:443") : TestFlow()
        let request = testBytes(40, seed: 20)
        let response = testBytes(3000, seed: 21)
        var capture = SyntheticCapture(framing: framing)
        capture.add(flow, flow.handshake())
        capture.add(flow, flow.send(.clientToServer, request, segmentSize: 3))
        capture.add(flow, flow.send(.serverToClient, response))
        capture.add(flow, [flow.fin(.clientToServer), flow.fin(.serverToClient)])
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let result = try capture.writeAndRead(in: directory)

        try #require(result.sessions.count == 1)
        #expect(result.sessions[0].mergedSteps == [
            .data(.clientToServer, request), .data(.serverToClient, response),
            .halfClose(.clientToServer), .halfClose(.serverToClient),
        ])
        #expect(result.sessions[0].session.client == .ip(flow.client, port: flow.clientPort))
    }

    @Test func ipv4TotalLengthZeroTakesTheCapturedLength() throws {
        var flow = TestFlow()
        let response = testBytes(80_000, seed: 22)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake())
        capture.add(flow, flow.send(.serverToClient, response, segmentSize: 70_000), totalLengthZero: true)

        let stream = try capture.reassemble().result.sessions[0]

        #expect(stream.bytes(.serverToClient) == response)
    }

    @Test func ipv6ExtensionHeadersAreWalked() throws {
        var flow = TestFlow(client: "[::1]:50000", server: "[::1]:8080")
        let request = testBytes(500, seed: 23)
        var capture = SyntheticCapture()
        capture.add(flow, flow.handshake(), extensionHeaders: true)
        capture.add(flow, flow.send(.clientToServer, request), extensionHeaders: true)

        let stream = try capture.reassemble().result.sessions[0]

        #expect(stream.bytes(.clientToServer) == request)
    }

    @Test func framesThatAreNotWholeTCPSegmentsAreSkipped() throws {
        var flow = TestFlow()
        let segment = flow.segment(.clientToServer, payload: testBytes(100, seed: 24))
        let packet = flow.packet(segment)
        var fragment = packet
        fragment[6] = 0x20  // more fragments
        var laterFragment = packet
        laterFragment[7] = 0x10  // fragment offset 16
        var udp = packet
        udp[9] = 17
        var arp = LinkFraming.ethernet.frame(packet)
        arp[12] = 0x08
        arp[13] = 0x06
        var ipv6Flow = TestFlow(client: "[::1]:50000", server: "[::1]:8080")
        let ipv6Segment = ipv6Flow.segment(.clientToServer, payload: [1, 2, 3])
        var ipv6Fragment = ipv6Flow.packet(ipv6Segment)
        // Turn the next header into a fragment header with offset 8.
        ipv6Fragment[6] = 44
        ipv6Fragment.insert(contentsOf: [6, 0, 0, 8, 0, 0, 0, 1], at: 40)
        let decoder = try LinkDecoder(linkType: .ethernet)
        let rawDecoder = try LinkDecoder(linkType: .raw)

        #expect(decode(rawDecoder, packet) == 100)
        for frame in [fragment, laterFragment, udp, ipv6Fragment] {
            #expect(decode(rawDecoder, frame) == nil)
        }
        #expect(decode(decoder, arp) == nil)

        // Through a file: the skipped frames are counted, the segment kept.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("mixed.pcap")
        let writer = try PcapWriter(path: path, linkType: .raw)
        for frame in [fragment, packet, udp, laterFragment, ipv6Fragment] {
            try writer.write(timestamp: Timestamp(nanosecondsSinceEpoch: 0), frame: frame)
        }
        try writer.close()
        var reassembler = StreamReassembler()
        var opened = 0
        try reassembler.read(path: path) { event in
            if case .opened = event { opened += 1 }
        }
        #expect(reassembler.skippedFrameCount == 4)
        #expect(opened == 1)
    }

    @Test func everyPrefixOfAFrameDecodesSafely() throws {
        var flow = TestFlow(client: "[2001:db8::1]:50000", server: "[2001:db8::2]:443")
        let packet = flow.packet(flow.segment(.clientToServer, payload: testBytes(200, seed: 25)), extensionHeaders: true)
        for framing in Self.framings {
            let frame = framing.frame(packet)
            let decoder = try LinkDecoder(linkType: framing.linkType)
            for length in 0...frame.count {
                let segment = Array(frame.prefix(length)).withUnsafeBytes { bytes in
                    decoder.decode(frame: bytes, originalLength: frame.count).map { ($0.payload.count, $0.missingPayloadBytes) }
                }
                if let segment {
                    #expect(segment.0 + segment.1 == 200, "\(framing) cut at \(length)")
                }
            }
        }
    }

    @Test func snapshotLengthCutIsAGapInAFileOfEitherByteOrder() throws {
        for bigEndian in [false, true] {
            var flow = TestFlow()
            let response = testBytes(3000, seed: 26)
            var file = ClassicPcap(linkType: 0, bigEndian: bigEndian)
            let framing = LinkFraming.null(bigEndian: bigEndian, ipv6Family: 30)
            for segment in flow.handshake() {
                file.append(framing.frame(flow.packet(segment)))
            }
            for (index, segment) in flow.send(.serverToClient, response).enumerated() {
                // The middle segment is cut 100 bytes into its payload.
                file.append(framing.frame(flow.packet(segment)), capturedLength: index == 1 ? 4 + 20 + 20 + 100 : nil)
            }
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try file.write(to: directory.file("cut.pcap"))

            let stream = try #require(try Reassembled.read([directory.file("cut.pcap")]).sessions.first)

            #expect(stream.mergedSteps == [
                .data(.serverToClient, Array(response[0..<1100])), .gap(.serverToClient, 900), .data(.serverToClient, Array(response[2000...])),
            ])
        }
    }

    @Test func unsupportedLinkTypeIsNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("user0.pcap")
        let writer = try PcapWriter(path: path, linkType: LinkType(rawValue: 147))
        try writer.write(timestamp: Timestamp(nanosecondsSinceEpoch: 0), frame: [1, 2, 3])
        try writer.close()

        let error = try #require(throws: PcapError.self) { try Reassembled.read([path]) }

        #expect(error.code == .open)
        #expect(error.message.contains(LinkType(rawValue: 147).name))
        #expect(!error.description.contains("\n"))
    }

    private func decode(_ decoder: LinkDecoder, _ frame: [UInt8]) -> Int? {
        frame.withUnsafeBytes { decoder.decode(frame: $0, originalLength: $0.count)?.payload.count }
    }
}
