import CXXHash
import NIOCore
import Protocols

/// XXH3-128 of some bytes: what the request index looks requests up by in
/// place of the bytes themselves, so it holds 16 bytes per recorded request
/// however large the request was. Two different requests share a digest
/// with a probability of about 2⁻¹²⁸ per pair.
struct ByteDigest: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    init(_ bytes: ByteBuffer) {
        let hash = bytes.withUnsafeReadableBytes { XXH3_128bits($0.baseAddress, $0.count) }
        high = hash.high64
        low = hash.low64
    }
}

extension ExchangeKey {
    /// Bytes values up to this long stay as they are in an indexed key.
    static let indexedValueLimit = 64

    /// The key with every value longer than ``indexedValueLimit`` bytes
    /// (a Redis argument, an HTTP body, a bound parameter, generic bytes)
    /// replaced by a marker byte and its digest, and every value copied
    /// out of the buffer it was read from: what the request index keeps, so
    /// that neither a large value nor the whole session's bytes stay in
    /// memory with it. Live keys are compacted the same way before lookup,
    /// so equal keys stay equal.
    func compacted() -> ExchangeKey {
        switch self {
        case .http(let method, let path, let query, let body):
            return .http(method: method, path: path, query: query, body: Self.compact(body))
        case .redis(let command, let arguments):
            return .redis(command: command, arguments: arguments.map(Self.compact))
        case .postgres(.statements(let statements)):
            return .postgres(.statements(statements.map { statement in
                PostgresRequestKey.Statement(text: statement.text, parameters: statement.parameters.map { $0.map(Self.compact) }, messages: statement.messages)
            }))
        case .postgres:
            return self
        case .bytes(let bytes):
            return .bytes(Self.compact(bytes))
        }
    }

    /// True for what `compact` made of a long value: its marker and digest.
    static func isCompacted(_ value: ByteBuffer) -> Bool {
        value.readableBytes == 17 && value.readableBytesView.first == 0xFF
    }

    /// A copy of a short value; a long one's marker (0xFF) and digest.
    private static func compact(_ value: ByteBuffer) -> ByteBuffer {
        guard value.readableBytes > indexedValueLimit else { return ByteBuffer(bytes: value.readableBytesView) }
        let digest = ByteDigest(value)
        var marker = ByteBuffer()
        marker.writeInteger(UInt8(0xFF))
        marker.writeInteger(digest.high)
        marker.writeInteger(digest.low)
        return marker
    }
}
