import TapedeckTestSupport
import PcapFile

/// How a test wraps an IP packet into a link-layer frame, and the link type
/// of a file holding such frames.
enum LinkFraming: CustomStringConvertible, Sendable {
    case ethernet
    /// Ethernet with VLAN tags (their TPIDs, outermost first).
    case vlan([UInt16])
    /// Ethernet, padded to the 60-byte minimum frame.
    case paddedEthernet
    case linuxCooked
    case linuxCooked2
    case raw
    /// DLT_NULL with the family written little- or big-endian; `ipv6Family`
    /// is 24, 28 or 30 (BSD flavours).
    case null(bigEndian: Bool, ipv6Family: UInt32)
    case loop

    var linkType: LinkType {
        switch self {
        case .ethernet, .vlan, .paddedEthernet: .ethernet
        case .linuxCooked: .linuxCooked
        case .linuxCooked2: .linuxCooked2
        case .raw: .raw
        case .null: .null
        case .loop: .loop
        }
    }

    func frame(_ packet: [UInt8]) -> [UInt8] {
        let isIPv6 = packet[0] >> 4 == 6
        let etherType: UInt16 = isIPv6 ? 0x86DD : 0x0800
        let macs: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]
        var frame: [UInt8] = []
        switch self {
        case .ethernet:
            frame = macs
            frame.append16(etherType)
        case .vlan(let tags):
            frame = macs
            for (index, tpid) in tags.enumerated() {
                frame.append16(tpid)
                frame.append16(UInt16(100 + index))
            }
            frame.append16(etherType)
        case .paddedEthernet:
            frame = macs
            frame.append16(etherType)
            frame += packet
            return frame + [UInt8](repeating: 0xEE, count: max(0, 60 - frame.count))
        case .linuxCooked:
            frame = [0, 0, 3, 4, 0, 6] + macs.prefix(8)
            frame.append16(etherType)
        case .linuxCooked2:
            frame.append16(etherType)
            frame += [0, 0, 0, 0, 0, 1, 3, 4, 0, 6] + macs.prefix(8)
        case .raw:
            break
        case .null(let bigEndian, let ipv6Family):
            let family: UInt32 = isIPv6 ? ipv6Family : 2
            frame = withUnsafeBytes(of: bigEndian ? family.bigEndian : family.littleEndian) { Array($0) }
        case .loop:
            frame.append32(isIPv6 ? 24 : 2)
        }
        return frame + packet
    }

    var description: String {
        switch self {
        case .ethernet: "Ethernet"
        case .vlan(let tags): "Ethernet with tags " + tags.map { String($0, radix: 16) }.joined(separator: ",")
        case .paddedEthernet: "padded Ethernet"
        case .linuxCooked: "LINUX_SLL"
        case .linuxCooked2: "LINUX_SLL2"
        case .raw: "RAW"
        case .null(let bigEndian, let family): "NULL \(bigEndian ? "big" : "little")-endian, IPv6 family \(family)"
        case .loop: "LOOP"
        }
    }
}
