import CLibPCAP

/// A libpcap data link type, as `pcap_datalink()` reports it (a `DLT_*` value).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let ethernet = LinkType(rawValue: DLT_EN10MB)
    public static let null = LinkType(rawValue: DLT_NULL)
    public static let loop = LinkType(rawValue: DLT_LOOP)
    public static let raw = LinkType(rawValue: DLT_RAW)
    public static let ipv4 = LinkType(rawValue: DLT_IPV4)
    public static let ipv6 = LinkType(rawValue: DLT_IPV6)
    public static let linuxCooked = LinkType(rawValue: DLT_LINUX_SLL)
    public static let linuxCooked2 = LinkType(rawValue: DLT_LINUX_SLL2)

    /// libpcap's name for the link type (`EN10MB`, `LINUX_SLL2`), or its number.
    public var name: String {
        if let name = pcap_datalink_val_to_name(rawValue) {
            return String(cString: name)
        }
        return "DLT \(rawValue)"
    }

    public var description: String { name }
}
