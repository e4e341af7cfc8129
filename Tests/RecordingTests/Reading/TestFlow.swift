import TapedeckTestSupport
import Recording

/// Builds the IP packets of one synthetic TCP connection, with valid IPv4 and
/// TCP checksums, tracking each side's sequence number so tests can then
/// reorder, duplicate, drop or rewrite what it produced.
struct TestFlow {
    struct Segment {
        var direction: Direction
        var sequence: UInt32
        var acknowledgement: UInt32
        var flags: TCPSegment.Flags
        var payload: [UInt8]
    }

    var client: IPAddress
    var clientPort: UInt16
    var server: IPAddress
    var serverPort: UInt16
    /// The next sequence number each side sends.
    var clientNext: UInt32
    var serverNext: UInt32

    init(client: String = "10.0.0.1:50000", server: String = "10.0.0.2:6379", clientISN: UInt32 = 1000, serverISN: UInt32 = 5_000_000) {
        let clientEndpoint = try! Endpoint(parsing: client)
        let serverEndpoint = try! Endpoint(parsing: server)
        guard case .ip(let clientAddress, let clientPort) = clientEndpoint, case .ip(let serverAddress, let serverPort) = serverEndpoint else {
            fatalError("TestFlow needs IP endpoints")
        }
        self.client = clientAddress
        self.clientPort = clientPort
        self.server = serverAddress
        self.serverPort = serverPort
        self.clientNext = clientISN
        self.serverNext = serverISN
    }

    mutating func handshake() -> [Segment] {
        var segments = [Segment(direction: .clientToServer, sequence: clientNext, acknowledgement: 0, flags: .syn, payload: [])]
        clientNext &+= 1
        segments.append(Segment(direction: .serverToClient, sequence: serverNext, acknowledgement: clientNext, flags: [.syn, .ack], payload: []))
        serverNext &+= 1
        segments.append(Segment(direction: .clientToServer, sequence: clientNext, acknowledgement: serverNext, flags: .ack, payload: []))
        return segments
    }

    /// `bytes` sent in segments of at most `segmentSize` bytes.
    mutating func send(_ direction: Direction, _ bytes: [UInt8], segmentSize: Int = 1000) -> [Segment] {
        stride(from: 0, to: bytes.count, by: segmentSize).map { start in
            segment(direction, payload: Array(bytes[start..<min(bytes.count, start + segmentSize)]))
        }
    }

    mutating func segment(_ direction: Direction, payload: [UInt8], flags: TCPSegment.Flags = [.ack, .psh]) -> Segment {
        let sequence = next(direction)
        advance(direction, by: UInt32(payload.count) + (flags.contains(.fin) ? 1 : 0))
        return Segment(direction: direction, sequence: sequence, acknowledgement: next(direction.reversed), flags: flags, payload: payload)
    }

    mutating func fin(_ direction: Direction) -> Segment {
        segment(direction, payload: [], flags: [.fin, .ack])
    }

    func ack(_ direction: Direction) -> Segment {
        Segment(direction: direction, sequence: next(direction), acknowledgement: next(direction.reversed), flags: .ack, payload: [])
    }

    func next(_ direction: Direction) -> UInt32 {
        direction == .clientToServer ? clientNext : serverNext
    }

    mutating func advance(_ direction: Direction, by count: UInt32) {
        if direction == .clientToServer { clientNext &+= count } else { serverNext &+= count }
    }

    /// The IP packet (IPv4 or IPv6, as the addresses are) carrying `segment`.
    /// `totalLengthZero` writes an IPv4 total length of 0, as Linux segment
    /// offload does; `extensionHeaders` puts IPv6 hop-by-hop and destination
    /// options headers before TCP.
    func packet(_ segment: Segment, totalLengthZero: Bool = false, extensionHeaders: Bool = false) -> [UInt8] {
        let fromClient = segment.direction == .clientToServer
        let source = fromClient ? client : server
        let destination = fromClient ? server : client
        var tcp: [UInt8] = []
        tcp.append16(fromClient ? clientPort : serverPort)
        tcp.append16(fromClient ? serverPort : clientPort)
        tcp.append32(segment.sequence)
        tcp.append32(segment.acknowledgement)
        tcp += [5 << 4, segment.flags.rawValue, 0xFF, 0xFF, 0, 0, 0, 0]
        tcp += segment.payload
        var pseudo = source.bytes + destination.bytes
        pseudo.append32(6)
        pseudo.append32(UInt32(tcp.count))
        let checksum = Self.checksum(pseudo + tcp)
        tcp[16] = UInt8(checksum >> 8)
        tcp[17] = UInt8(checksum & 0xFF)
        if source.isIPv6 {
            let extensions: [UInt8] = extensionHeaders
                ? [60, 0, 1, 4, 0, 0, 0, 0] + [6, 0, 1, 4, 0, 0, 0, 0]
                : []
            var header: [UInt8] = [0x60, 0, 0, 0]
            header.append16(UInt16(extensions.count + tcp.count))
            header += [extensionHeaders ? 0 : 6, 64]
            return header + source.bytes + destination.bytes + extensions + tcp
        }
        var header: [UInt8] = [0x45, 0]
        header.append16(totalLengthZero ? 0 : UInt16(20 + tcp.count))
        header += [0, 1, 0x40, 0, 64, 6, 0, 0]
        header += source.bytes + destination.bytes
        let headerChecksum = Self.checksum(header)
        header[10] = UInt8(headerChecksum >> 8)
        header[11] = UInt8(headerChecksum & 0xFF)
        return header + tcp
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

extension Array where Element == UInt8 {
    mutating func append16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    mutating func append32(_ value: UInt32) {
        append16(UInt16(value >> 16))
        append16(UInt16(value & 0xFFFF))
    }
}
