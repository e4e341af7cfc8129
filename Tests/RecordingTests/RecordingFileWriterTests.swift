import Foundation
import NIOCore
import PcapFile
import Recording
import TapedeckTestSupport
import Testing

/// What Tapedeck writes, read back by tshark: every flow must dissect with no
/// malformed frame, no bad checksum and no TCP analysis warning the session
/// did not really have, and Follow TCP Stream must give each side's bytes.
@Suite struct RecordingFileWriterTests {
    /// One session to write: who sends how much, then how it ends.
    struct Script: CustomTestStringConvertible, Sendable {
        var name: String
        var client: String
        var server: String
        var steps: [Step]
        var initialSequenceNumbers: (client: UInt32, server: UInt32)? = nil

        enum Step: Sendable {
            case send(Direction, Int)
            case halfClose(Direction)
            case reset(Direction)
        }

        var testDescription: String { name }
    }

    static let clientIPv4 = "127.0.0.1:51000"
    static let serverIPv4 = "127.0.0.1:6379"

    static let scripts: [Script] = [
        Script(name: "empty session", client: clientIPv4, server: serverIPv4, steps: [.halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(name: "one byte", client: clientIPv4, server: serverIPv4, steps: [.send(.clientToServer, 1), .send(.serverToClient, 1), .halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(name: "64 KiB + 1", client: clientIPv4, server: serverIPv4, steps: [.send(.clientToServer, 65_537), .send(.serverToClient, 65_537), .halfClose(.serverToClient), .halfClose(.clientToServer)]),
        Script(name: "16 MiB", client: clientIPv4, server: serverIPv4, steps: [.send(.clientToServer, 100), .send(.serverToClient, 16 << 20), .halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(
            name: "sequence numbers wrap", client: clientIPv4, server: serverIPv4,
            steps: [.send(.clientToServer, 200_000), .send(.serverToClient, 200_000), .halfClose(.clientToServer), .halfClose(.serverToClient)],
            initialSequenceNumbers: (0xFFFF_F000, 0xFFFF_FF00)
        ),
        Script(name: "IPv6", client: "[::1]:51000", server: "[::1]:8080", steps: [.send(.clientToServer, 300), .send(.serverToClient, 70_000), .halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(name: "IPv4 client, IPv6 upstream", client: clientIPv4, server: "[::1]:8080", steps: [.send(.clientToServer, 30), .send(.serverToClient, 40), .halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(name: "Unix to Unix", client: "unix:/run/app.sock", server: "unix:/run/postgresql/.s.PGSQL.5432", steps: [.send(.clientToServer, 500), .send(.serverToClient, 900), .halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(name: "TCP to Unix", client: clientIPv4, server: "unix:/run/redis.sock", steps: [.send(.clientToServer, 10), .send(.serverToClient, 20), .halfClose(.clientToServer), .halfClose(.serverToClient)]),
        Script(name: "server half-closes first, client keeps sending", client: clientIPv4, server: serverIPv4, steps: [.send(.serverToClient, 10), .halfClose(.serverToClient), .send(.clientToServer, 5000), .halfClose(.clientToServer)]),
        Script(name: "client half-closes first, server answers", client: clientIPv4, server: serverIPv4, steps: [.send(.clientToServer, 10), .halfClose(.clientToServer), .send(.serverToClient, 5000), .halfClose(.serverToClient)]),
    ]

    @Test(arguments: scripts)
    func tsharkFollowsEverySideExactly(_ script: Script) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("session.pcap")
        let expected = try write([script], to: path)

        #expect(try TShark.problems(path) == [])
        let followed = try TShark.follow(path, stream: 0)
        #expect(followed.client == expected[0].client, "client bytes differ")
        #expect(followed.server == expected[0].server, "server bytes differ")
    }

    /// The recorder builds frames on the event loops and the writer points
    /// into the buffers read: the file must be the very file the writer
    /// makes itself, byte for byte, its manifest too — at every size around
    /// the copy and segment limits, with the records of many events
    /// gathered before one write.
    @Test(arguments: scripts + [
        Script(
            name: "sizes around the limits", client: clientIPv4, server: serverIPv4,
            steps: [0, 1, 512, 513, 16_383, 16_384, 65_495, 65_496, 130_990, 200_000].flatMap { [.send(.clientToServer, $0), .send(.serverToClient, $0 / 2)] }
                + [.halfClose(.serverToClient), .send(.clientToServer, 700), .reset(.clientToServer)]
        ),
    ])
    func framesBuiltWhereTheBytesWereReadWriteTheSameFile(_ script: Script) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var script = script
        script.initialSequenceNumbers = script.initialSequenceNumbers ?? (0x1234_5678, 0x9ABC_DEF0)
        let here = directory.file("here.pcap")
        let built = directory.file("built.pcap")
        let expected = try write([script], to: here)
        #expect(try write([script], to: built, framesBuilt: true).map { $0.client + $0.server } == expected.map { $0.client + $0.server })

        #expect(try Data(contentsOf: URL(fileURLWithPath: built)) == (try Data(contentsOf: URL(fileURLWithPath: here))))
        let hereManifest = try #require(try Manifest.load(forRecording: here))
        let builtManifest = try #require(try Manifest.load(forRecording: built))
        #expect(builtManifest.sessions == hereManifest.sessions)

        // Small payloads lent and copied into their frames only, as the
        // splice worker hands them over: the same file and manifest.
        let copied = directory.file("copied.pcap")
        _ = try write([script], to: copied, framesBuilt: true, copyingSmall: true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: copied)) == (try Data(contentsOf: URL(fileURLWithPath: here))))
        #expect(try #require(try Manifest.load(forRecording: copied)).sessions == hereManifest.sessions)
    }

    /// A side that only receives (an upload of gigabytes, a stream never
    /// answered) still acknowledges what it got, at least once a GiB:
    /// otherwise Wireshark takes every segment more than 2 GiB past the
    /// receiver's last acknowledgement for a retransmission. Gaps stand in
    /// for the gigabytes; the bytes around them are real.
    @Test func aLongOneWayStreamIsAcknowledgedAndNeverLooksRetransmitted() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clientISN: UInt32 = 0x1000
        // Ten 100-byte reads with 600 MiB gaps between them: 5.3 GiB, past
        // the 2 GiB of sequence space and the 4 GiB where it wraps.
        let gap = 600 << 20
        var expectedAcknowledgements: [UInt32] = []
        var sent: UInt64 = 0
        var unacknowledged: UInt64 = 0
        for round in 0..<10 {
            if unacknowledged + 100 > FrameSynthesizer.acknowledgementInterval {
                expectedAcknowledgements.append(clientISN &+ 1 &+ UInt32(truncatingIfNeeded: sent))
                unacknowledged = 0
            }
            sent += 100
            unacknowledged += 100
            if round < 9 {
                sent += UInt64(gap)
                unacknowledged += UInt64(gap)
            }
        }
        #expect(expectedAcknowledgements.count == 4)

        /// Writes the stream with frames built by the writer, or where the
        /// bytes were read (`built`), small reads copied into their frames
        /// as the splice worker lends them (`copying`).
        func write(to path: String, built: Bool = false, copying: Bool = false) throws {
            let writer = try RecordingFileWriter(path: path)
            var clock = Timestamp(seconds: 1_764_000_000, nanoseconds: 0)
            func tick() -> Timestamp {
                clock = clock.advanced(by: .milliseconds(1))
                return clock
            }
            let session = Session(index: 0, client: try Endpoint(parsing: Self.clientIPv4), server: try Endpoint(parsing: Self.serverIPv4), opened: tick())
            var synthesizer = FrameSynthesizer(session: session, initialSequenceNumbers: (clientISN, 0x2000))
            var held: [FrameRecords] = []
            if built {
                let handshake = synthesizer.handshakeRecords()
                held.append(handshake)
                try writer.open(session, flow: synthesizer.flow, handshake: handshake)
            } else {
                try writer.open(session, initialSequenceNumbers: (clientISN, 0x2000))
            }
            func append(_ event: SessionEvent) throws {
                guard built else { return try writer.append(event, session: 0) }
                if copying, case .data(let buffer) = event.kind {
                    let records = buffer.withUnsafeReadableBytes { synthesizer.records(copying: $0, direction: event.direction, at: event.time) }
                    held.append(records)
                    try writer.append(records, copiedPayload: buffer.readableBytes, direction: event.direction, at: event.time, session: 0)
                } else {
                    let records = synthesizer.records(for: event)
                    held += records.map { [$0] } ?? []
                    try writer.append(event, records: records, session: 0)
                }
            }
            for round in 0..<10 {
                try append(SessionEvent(time: tick(), direction: .clientToServer, kind: .data(ByteBuffer(repeating: UInt8(round), count: 100))))
                if round < 9 { try append(SessionEvent(time: tick(), direction: .clientToServer, kind: .gap(bytes: gap))) }
            }
            try append(SessionEvent(time: tick(), direction: .clientToServer, kind: .halfClose))
            try append(SessionEvent(time: tick(), direction: .serverToClient, kind: .halfClose))
            try withExtendedLifetime(held) { try writer.finish() }
        }
        let path = directory.file("long.pcap")
        try write(to: path)
        for (name, copying) in [("built", false), ("copied", true)] {
            let other = directory.file("\(name).pcap")
            try write(to: other, built: true, copying: copying)
            #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == (try Data(contentsOf: URL(fileURLWithPath: path))), "frames \(name) where read")
            #expect(try Manifest.load(forRecording: other)?.sessions == (try Manifest.load(forRecording: path)?.sessions), "frames \(name) where read")
        }

        let flagged = try TShark.run([
            "-r", path, "-Y", "tcp.analysis.retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order",
            "-T", "fields", "-e", "frame.number",
        ])
        #expect(flagged.split(separator: "\n").isEmpty, "frames tshark takes for retransmissions: \(flagged.split(separator: "\n").prefix(5))")
        let bareServerACKs = try TShark.run([
            "-r", path, "-Y", "tcp.srcport == 6379 && tcp.len == 0 && tcp.flags == 0x010", "-T", "fields", "-e", "tcp.ack_raw",
        ]).split(separator: "\n").compactMap { UInt32($0) }
        #expect(bareServerACKs == expectedAcknowledgements)
        let payloads = try TShark.run(["-r", path, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.payload"]).split(separator: "\n")
        #expect(payloads == (0..<10).map { Substring(String(repeating: String(format: "%02x", $0), count: 100)) })
    }

    @Test func resetShowsAsAnRSTAndNothingElse() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("reset.pcap")
        let script = Script(name: "reset", client: Self.clientIPv4, server: Self.serverIPv4, steps: [.send(.clientToServer, 100), .send(.serverToClient, 50), .reset(.serverToClient)])
        let expected = try write([script], to: path)

        let problems = try TShark.problems(path)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("Connection reset (RST)") == true, "\(problems)")
        let followed = try TShark.follow(path, stream: 0)
        #expect(followed.client == expected[0].client)
        #expect(followed.server == expected[0].server)
        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.sessions.first?.end == .reset)
    }

    @Test func twoHundredInterleavedSessionsStaySeparateFlows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("many.pcap")
        var generator = SeededGenerator(seed: 42)
        // Half TCP, half on one Unix socket path: synthetic addresses must still give 200 flows.
        let scripts = (0..<200).map { index in
            Script(
                name: "session \(index)",
                client: index % 2 == 0 ? "127.0.0.\(1 + index % 7):\(40000 + index)" : "unix:/tmp/app.sock",
                server: index % 2 == 0 ? Self.serverIPv4 : "unix:/tmp/app.sock",
                steps: [
                    .send(.clientToServer, Int.random(in: 1...3000, using: &generator)),
                    .send(.serverToClient, Int.random(in: 1...20000, using: &generator)),
                    .send(.clientToServer, Int.random(in: 1...300, using: &generator)),
                    .halfClose(.clientToServer), .halfClose(.serverToClient),
                ]
            )
        }
        let expected = try write(scripts, to: path, interleaved: true)

        #expect(try TShark.streamCount(path) == 200)
        #expect(try TShark.problems(path) == [])
        let followed = try TShark.follow(path, streams: Array(0..<200))
        // tshark numbers streams by first frame, which is session order here.
        for index in 0..<200 {
            let stream = try #require(followed[index])
            #expect(stream.client == expected[index].client, "session \(index) client bytes")
            #expect(stream.server == expected[index].server, "session \(index) server bytes")
        }
        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.sessions.count == 200)
        #expect(manifest.sessions[1].client == .unix(path: "/tmp/app.sock"))
        #expect(manifest.sessions[1].wire?.count == 2)
        #expect(manifest.hostsFile.contains("unix_tmp_app.sock"))
    }

    @Test func manifestCarriesCountsHashesAndEnds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("manifest.pcap")
        let script = Script(name: "m", client: "unix:/run/app.sock", server: Self.serverIPv4, steps: [.send(.clientToServer, 3), .send(.serverToClient, 5), .halfClose(.clientToServer)])
        let expected = try write([script], to: path)

        let manifest = try #require(try Manifest.load(forRecording: path))
        #expect(manifest.formatVersion == Manifest.currentFormatVersion)
        #expect(manifest.toolVersion == TapedeckVersion.current)
        #expect(manifest.file == "manifest.pcap")
        let session = try #require(manifest.sessions.first)
        #expect(session.client == .unix(path: "/run/app.sock"))
        #expect(session.server == (try Endpoint(parsing: Self.serverIPv4)))
        #expect(session.clientToServer.bytes == 3)
        #expect(session.serverToClient.bytes == 5)
        #expect(session.clientToServer.xxh3 == xxh3Hex(expected[0].client))
        #expect(session.clientToServer.xxh3 == (try xxhsumH3(expected[0].client)), "Debian's xxhsum agrees")
        #expect(session.clientToServer.sha256 == nil, "a manifest carries XXH3 only")
        #expect(session.end == .open, "only one side half-closed")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let manifestAttributes = try FileManager.default.attributesOfItem(atPath: Manifest.path(forRecording: path))
        #expect((manifestAttributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aSessionContinuedInTheNextFileReadsAsOneFlow() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = directory.file("set_00000.pcap")
        let second = directory.file("set_00001.pcap")
        let start = Timestamp(seconds: 1_764_000_000, nanoseconds: 0)
        let session = Session(index: 0, client: try Endpoint(parsing: Self.clientIPv4), server: try Endpoint(parsing: Self.serverIPv4), opened: start)
        let before = [UInt8](repeating: 0x41, count: 70_000)
        let after = [UInt8](repeating: 0x42, count: 5_000)

        let writerA = try RecordingFileWriter(path: first)
        try writerA.open(session)
        try writerA.append(SessionEvent(time: start.advanced(by: .milliseconds(1)), direction: .clientToServer, kind: .data(ByteBuffer(bytes: before))), session: 0)
        let continuations = writerA.continuations
        try writerA.finish()
        let writerB = try RecordingFileWriter(path: second)
        writerB.continue(continuations)
        try writerB.append(SessionEvent(time: start.advanced(by: .milliseconds(2)), direction: .clientToServer, kind: .data(ByteBuffer(bytes: after))), session: 0)
        try writerB.append(SessionEvent(time: start.advanced(by: .milliseconds(3)), direction: .clientToServer, kind: .halfClose), session: 0)
        try writerB.append(SessionEvent(time: start.advanced(by: .milliseconds(3)), direction: .serverToClient, kind: .halfClose), session: 0)
        try writerB.finish()

        func read(_ paths: [String]) throws -> [Int: (bytes: Int, end: SessionEnd, midFlow: Bool)] {
            var result: [Int: (bytes: Int, end: SessionEnd, midFlow: Bool)] = [:]
            var midFlow: [Int: Bool] = [:]
            var bytes: [Int: Int] = [:]
            try StreamReassembler.read(paths: paths) { event in
                switch event {
                case .opened(let session): midFlow[session.index] = session.startedMidFlow
                case .event(let index, let event):
                    if case .data(let buffer) = event.kind { bytes[index, default: 0] += buffer.readableBytes }
                case .closed(let index, _, let end): result[index] = (bytes[index] ?? 0, end, midFlow[index] ?? false)
                }
            }
            return result
        }
        let whole = try read([first, second])
        #expect(whole.count == 1)
        #expect(whole[0]?.bytes == before.count + after.count)
        #expect(whole[0]?.end == .fin)
        #expect(whole[0]?.midFlow == false)
        let alone = try read([second])
        #expect(alone.count == 1)
        #expect(alone[0]?.bytes == after.count)
        #expect(alone[0]?.midFlow == true)
        let manifest = try #require(try Manifest.load(forRecording: second))
        #expect(manifest.sessions.first?.startedMidFlow == true)
        #expect(manifest.sessions.first?.clientToServer.bytes == after.count)
    }

    /// Writes the scripts as one recording; returns each session's bytes per side.
    /// Interleaved: step k of every session before step k+1 of any.
    /// `framesBuilt`: as the recorder does, frames built apart (by each
    /// session's own synthesizer) and written out only at the end.
    /// `copyingSmall`: with `framesBuilt`, payloads of 1 to 512 bytes are
    /// lent to `records(copying:)` and written with `append(_:copiedPayload:…)`.
    @discardableResult
    func write(_ scripts: [Script], to path: String, interleaved: Bool = false, framesBuilt: Bool = false, copyingSmall: Bool = false) throws -> [(client: [UInt8], server: [UInt8])] {
        let writer = try RecordingFileWriter(path: path)
        var synthesizers: [FrameSynthesizer] = []
        var held: [FrameRecords] = []
        var expected = Array(repeating: (client: [UInt8](), server: [UInt8]()), count: scripts.count)
        var clock = Timestamp(seconds: 1_764_000_000, nanoseconds: 0)
        func tick() -> Timestamp {
            clock = clock.advanced(by: .microseconds(100))
            return clock
        }
        var generator = SeededGenerator(seed: 7)
        func run(_ step: Script.Step, session index: Int) throws {
            let event: SessionEvent
            switch step {
            case .send(let direction, let count):
                let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if direction == .clientToServer { expected[index].client += bytes } else { expected[index].server += bytes }
                event = SessionEvent(time: tick(), direction: direction, kind: .data(ByteBuffer(bytes: bytes)))
            case .halfClose(let direction):
                event = SessionEvent(time: tick(), direction: direction, kind: .halfClose)
            case .reset(let direction):
                event = SessionEvent(time: tick(), direction: direction, kind: .reset)
            }
            if framesBuilt, copyingSmall, case .data(let buffer) = event.kind, (1...FrameRecords.copiedPayloadLimit).contains(buffer.readableBytes) {
                let records = buffer.withUnsafeReadableBytes { synthesizers[index].records(copying: $0, direction: event.direction, at: event.time) }
                try writer.append(records, copiedPayload: buffer.readableBytes, direction: event.direction, at: event.time, session: UInt64(index))
            } else if framesBuilt {
                let records = synthesizers[index].records(for: event)
                held += records.map { [$0] } ?? []
                try writer.append(event, records: records, session: UInt64(index))
            } else {
                try writer.append(event, session: UInt64(index))
            }
        }
        for (index, script) in scripts.enumerated() {
            let session = Session(index: index, client: try Endpoint(parsing: script.client), server: try Endpoint(parsing: script.server), opened: tick())
            if framesBuilt {
                var synthesizer = FrameSynthesizer(session: session, initialSequenceNumbers: script.initialSequenceNumbers)
                let handshake = synthesizer.handshakeRecords()
                held.append(handshake)
                try writer.open(session, flow: synthesizer.flow, handshake: handshake)
                synthesizers.append(synthesizer)
            } else {
                try writer.open(session, initialSequenceNumbers: script.initialSequenceNumbers)
            }
            if !interleaved {
                for step in script.steps { try run(step, session: index) }
            }
        }
        if interleaved {
            let longest = scripts.map(\.steps.count).max() ?? 0
            for position in 0..<longest {
                for (index, script) in scripts.enumerated() where position < script.steps.count {
                    try run(script.steps[position], session: index)
                }
            }
        }
        try writer.writeOutReferences()
        held.removeAll()
        try writer.finish()
        return expected
    }
}
