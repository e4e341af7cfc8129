import NIOCore
import PcapFile
import Recording
import Replay
import TapedeckTestSupport

/// Builds session scripts by hand: who sends what, when.
enum Script {
    enum Line {
        case client(String, ms: Double)
        case server(String, ms: Double)
        case clientFIN(ms: Double)
        case clientRST(ms: Double)
        case clientGap(Int, ms: Double)
        case serverFIN(ms: Double)
        case serverRST(ms: Double)
        case serverGap(Int, ms: Double)
    }

    static func session(_ lines: [Line], end: SessionEnd = .fin) -> SessionScript {
        session(0, lines, end: end)
    }

    static func session(_ index: Int, openedAt seconds: Int64 = 1_000, _ lines: [Line], end: SessionEnd = .fin) -> SessionScript {
        let steps = lines.map { line -> SessionScript.Step in
            func at(_ ms: Double) -> Int64 { Int64(ms * 1_000_000) }
            switch line {
            case .client(let text, let ms): return .init(offset: at(ms), direction: .clientToServer, action: .data(ByteBuffer(string: text)))
            case .server(let text, let ms): return .init(offset: at(ms), direction: .serverToClient, action: .data(ByteBuffer(string: text)))
            case .clientFIN(let ms): return .init(offset: at(ms), direction: .clientToServer, action: .halfClose)
            case .clientRST(let ms): return .init(offset: at(ms), direction: .clientToServer, action: .reset)
            case .clientGap(let bytes, let ms): return .init(offset: at(ms), direction: .clientToServer, action: .gap(bytes: bytes))
            case .serverFIN(let ms): return .init(offset: at(ms), direction: .serverToClient, action: .halfClose)
            case .serverRST(let ms): return .init(offset: at(ms), direction: .serverToClient, action: .reset)
            case .serverGap(let bytes, let ms): return .init(offset: at(ms), direction: .serverToClient, action: .gap(bytes: bytes))
            }
        }
        let session = Session(
            index: index,
            client: .ip(.loopbackV4, port: UInt16(40_000 + index)),
            server: .ip(.loopbackV4, port: 6379),
            opened: Timestamp(seconds: seconds, nanoseconds: Int64(index) * 1_000_000)
        )
        return SessionScript(session: session, steps: steps, end: end)
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

/// Seconds on the monotonic clock, for timing checks.
func now() -> ContinuousClock.Instant { ContinuousClock.now }

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

extension Script {
    /// Writes `scripts` as a recording in `directory` (through the recorder's
    /// file writer, sessions one after the other) and returns its path.
    static func write(_ scripts: [SessionScript], in directory: TemporaryDirectory, name: String = "scripts.pcap") throws -> String {
        let path = directory.file(name)
        let writer = try RecordingFileWriter(path: path)
        for (id, script) in scripts.enumerated() {
            var session = script.session
            session.id = UInt64(id)
            try writer.open(session)
            for step in script.steps {
                let time = session.opened.advanced(by: .nanoseconds(step.offset))
                let kind: SessionEvent.Kind
                switch step.action {
                case .data(let buffer): kind = .data(buffer)
                case .halfClose: kind = .halfClose
                case .reset: kind = .reset
                case .gap(let bytes): kind = .gap(bytes: bytes)
                }
                try writer.append(SessionEvent(time: time, direction: step.direction, kind: kind), session: session.id)
            }
            let last = script.steps.last.map { session.opened.advanced(by: .nanoseconds($0.offset)) } ?? session.opened
            writer.close(session: session.id, at: last)
        }
        try writer.finish()
        return path
    }
}
