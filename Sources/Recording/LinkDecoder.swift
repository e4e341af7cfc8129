import PcapFile

/// Decodes the frames of one link type down to their TCP segment.
///
/// Accepts Ethernet (with any number of 802.1Q / 802.1ad / 0x9100 VLAN tags),
/// Linux cooked capture v1 and v2, raw IP, DLT_IPV4 / DLT_IPV6, DLT_NULL (its
/// family field in either byte order, IPv6 as 24, 28 or 30) and DLT_LOOP.
/// Frames that are not TCP over IPv4/IPv6, IP fragments and malformed frames
/// decode to `nil`. VLAN tags are not part of a flow's identity (Wireshark
/// merges the same 4-tuple across VLANs too).
package struct LinkDecoder: Sendable {
    /// A capture whose link type the decoder cannot read.
    public struct UnsupportedLinkType: Error, CustomStringConvertible, Sendable {
        public var linkType: LinkType
        public var description: String {
            "unsupported link type \(linkType.name) (\(linkType.rawValue)); Tapedeck reads EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL and LOOP captures"
        }
    }

    private enum Framing {
        /// A 16-bit EtherType at `offset`, the network header at `header`.
        case etherType(offset: Int, header: Int)
        case rawIP
        case null
        case loop
    }

    public let linkType: LinkType
    private let framing: Framing

    public init(linkType: LinkType) throws(UnsupportedLinkType) {
        self.linkType = linkType
        switch linkType {
        case .ethernet: framing = .etherType(offset: 12, header: 14)
        case .linuxCooked: framing = .etherType(offset: 14, header: 16)
        case .linuxCooked2: framing = .etherType(offset: 0, header: 20)
        case .raw, .ipv4, .ipv6: framing = .rawIP
        case .null: framing = .null
        case .loop: framing = .loop
        default: throw UnsupportedLinkType(linkType: linkType)
        }
    }

    /// The TCP segment `packet` carries, or nil when it carries none.
    public func decode(_ packet: PcapPacket) -> TCPSegment? {
        decode(frame: packet.bytes, originalLength: packet.originalLength)
    }

    /// The TCP segment in `frame` (the captured bytes of a frame that was
    /// `originalLength` bytes long on the wire), or nil when it carries none.
    public func decode(frame: UnsafeRawBufferPointer, originalLength: Int) -> TCPSegment? {
        var header: Int
        var version: UInt8?
        switch framing {
        case .etherType(let typeOffset, let headerOffset):
            guard frame.count >= headerOffset else { return nil }
            var type = frame.bigEndianUInt16(at: typeOffset)
            header = headerOffset
            while type == 0x8100 || type == 0x88A8 || type == 0x9100 {
                guard frame.count >= header + 4 else { return nil }
                type = frame.bigEndianUInt16(at: header + 2)
                header += 4
            }
            switch type {
            case 0x0800: version = 4
            case 0x86DD: version = 6
            default: return nil
            }
        case .rawIP:
            header = 0
        case .null:
            guard frame.count >= 4 else { return nil }
            let family = frame.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            guard let known = Self.version(ofFamily: family) ?? Self.version(ofFamily: family.byteSwapped) else { return nil }
            version = known
            header = 4
        case .loop:
            guard frame.count >= 4 else { return nil }
            guard let known = Self.version(ofFamily: frame.bigEndianUInt32(at: 0)) else { return nil }
            version = known
            header = 4
        }
        guard frame.count > header else { return nil }
        let packet = UnsafeRawBufferPointer(rebasing: frame[header...])
        let found = packet[0] >> 4
        guard version == nil || version == found else { return nil }
        let wireLength = max(originalLength - header, packet.count)
        switch found {
        case 4: return Self.decodeIPv4(packet, wireLength: wireLength)
        case 6: return Self.decodeIPv6(packet, wireLength: wireLength)
        default: return nil
        }
    }

    private static func version(ofFamily family: UInt32) -> UInt8? {
        switch family {
        case 2: return 4
        case 24, 28, 30: return 6
        default: return nil
        }
    }

    private static func decodeIPv4(_ packet: UnsafeRawBufferPointer, wireLength: Int) -> TCPSegment? {
        guard packet.count >= 20 else { return nil }
        let headerLength = Int(packet[0] & 0x0F) * 4
        guard headerLength >= 20, packet.count >= headerLength else { return nil }
        let totalLength = Int(packet.bigEndianUInt16(at: 2))
        let fragment = packet.bigEndianUInt16(at: 6)
        guard fragment & 0x3FFF == 0, packet[9] == 6 else { return nil }
        // A total length of 0 is Linux segment offload (BIG TCP): the frame is the packet.
        let length = totalLength == 0 ? wireLength : min(totalLength, wireLength)
        return decodeTCP(
            packet,
            at: headerLength,
            packetLength: length,
            source: .v4(packet.bigEndianUInt32(at: 12)),
            destination: .v4(packet.bigEndianUInt32(at: 16))
        )
    }

    private static func decodeIPv6(_ packet: UnsafeRawBufferPointer, wireLength: Int) -> TCPSegment? {
        guard packet.count >= 40 else { return nil }
        let payloadLength = Int(packet.bigEndianUInt16(at: 4))
        var next = packet[6]
        var header = 40
        while next != 6 {
            guard packet.count >= header + 8 else { return nil }
            switch next {
            case 0, 43, 60:
                next = packet[header]
                header += (Int(packet[header + 1]) + 1) * 8
            case 44:
                // Fragment offset (13 bits) and the more-fragments flag must both be zero.
                guard packet.bigEndianUInt16(at: header + 2) & 0xFFF9 == 0 else { return nil }
                next = packet[header]
                header += 8
            case 51:
                next = packet[header]
                header += (Int(packet[header + 1]) + 2) * 4
            default:
                return nil
            }
        }
        // A payload length of 0 is a jumbogram or segment offload: the frame is the packet.
        let length = payloadLength == 0 ? wireLength : min(40 + payloadLength, wireLength)
        return decodeTCP(
            packet,
            at: header,
            packetLength: length,
            source: .v6(packet.bigEndianUInt64(at: 8), packet.bigEndianUInt64(at: 16)),
            destination: .v6(packet.bigEndianUInt64(at: 24), packet.bigEndianUInt64(at: 32))
        )
    }

    private static func decodeTCP(
        _ packet: UnsafeRawBufferPointer,
        at tcp: Int,
        packetLength: Int,
        source: IPAddress,
        destination: IPAddress
    ) -> TCPSegment? {
        let captured = min(packet.count, packetLength)
        guard captured >= tcp + 20 else { return nil }
        let dataOffset = Int(packet[tcp + 12] >> 4) * 4
        let payloadStart = tcp + dataOffset
        guard dataOffset >= 20, captured >= payloadStart else { return nil }
        return TCPSegment(
            source: source,
            sourcePort: packet.bigEndianUInt16(at: tcp),
            destination: destination,
            destinationPort: packet.bigEndianUInt16(at: tcp + 2),
            sequenceNumber: packet.bigEndianUInt32(at: tcp + 4),
            acknowledgementNumber: packet.bigEndianUInt32(at: tcp + 8),
            flags: TCPSegment.Flags(rawValue: packet[tcp + 13]),
            payload: UnsafeRawBufferPointer(rebasing: packet[payloadStart..<captured]),
            missingPayloadBytes: packetLength - captured
        )
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    fileprivate func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    fileprivate func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
