import Recording
import TapedeckTestSupport

/// The bytes each TCP session of a capture carried, read in the test's own
/// process (every session, with its client's port), to compare with what
/// the test's clients sent.
struct RecordedStream {
    var clientPort: UInt16
    var serverPort: UInt16
    var clientToServer: [UInt8] = []
    var serverToClient: [UInt8] = []

    static func read(_ paths: [String]) throws -> [RecordedStream] {
        var streams: [Int: RecordedStream] = [:]
        try RecordingReader(paths: paths).read { event in
            switch event {
            case .opened(let session):
                guard case .ip(_, let port) = session.client, case .ip(_, let serverPort) = session.server else { return }
                streams[session.index] = RecordedStream(clientPort: port, serverPort: serverPort)
            case .event(let index, let sessionEvent):
                guard case .data(let buffer) = sessionEvent.kind else { return }
                if sessionEvent.direction == .clientToServer {
                    streams[index]?.clientToServer += Array(buffer.readableBytesView)
                } else {
                    streams[index]?.serverToClient += Array(buffer.readableBytesView)
                }
            case .closed:
                break
            }
        }
        return streams.keys.sorted().compactMap { streams[$0] }
    }

    /// The same session seen from its other side: what a reader without a
    /// handshake or a manifest, guessing by the ports, may have made of it.
    var turned: RecordedStream {
        RecordedStream(clientPort: serverPort, serverPort: clientPort, clientToServer: serverToClient, serverToClient: clientToServer)
    }
}

extension Array where Element == UInt8 {
    /// True when `piece` is found whole in these bytes (a piece of a stream
    /// that a file holds from part-way through).
    func containsRun(_ piece: [UInt8]) -> Bool {
        guard !piece.isEmpty else { return true }
        guard piece.count <= count else { return false }
        let head = piece.prefix(32)
        for start in 0...(count - piece.count) where self[start] == piece[0] {
            if self[start..<(start + head.count)].elementsEqual(head), self[start..<(start + piece.count)].elementsEqual(piece) {
                return true
            }
        }
        return false
    }
}
