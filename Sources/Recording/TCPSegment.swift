/// One TCP segment as a capture holds it, decoded down from its link layer.
///
/// `payload` points into the capture reader's buffer: it is valid only until
/// the reader reads the next record, so copy what must outlive that.
package struct TCPSegment {
    /// The TCP header flags this module acts on.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let rst = Flags(rawValue: 0x04)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
    }

    public var source: IPAddress
    public var sourcePort: UInt16
    public var destination: IPAddress
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgementNumber: UInt32
    public var flags: Flags
    /// The payload bytes present in the capture (Ethernet padding excluded).
    public var payload: UnsafeRawBufferPointer
    /// Payload bytes the segment carried on the wire that the snapshot length
    /// cut off: they follow `payload` and their content is lost.
    public var missingPayloadBytes: Int

    public init(
        source: IPAddress,
        sourcePort: UInt16,
        destination: IPAddress,
        destinationPort: UInt16,
        sequenceNumber: UInt32,
        acknowledgementNumber: UInt32,
        flags: Flags,
        payload: UnsafeRawBufferPointer,
        missingPayloadBytes: Int = 0
    ) {
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgementNumber = acknowledgementNumber
        self.flags = flags
        self.payload = payload
        self.missingPayloadBytes = missingPayloadBytes
    }
}
