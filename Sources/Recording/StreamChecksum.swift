import CXXHash
import Crypto
import NIOCore

/// Which checksum of each direction's bytes a summary carries.
///
/// A recording's manifest carries XXH3-64 (`xxh3`): cheap enough to vanish
/// beside the copy of the bytes, and enough to find a damaged or cut file
/// (`tapedeck inspect --verify`). SHA-256 (`sha256`) is what manifests
/// written before held, and what `tapedeck inspect --format json` shows by
/// default: reading is where a cryptographic hash is cheap.
public enum ChecksumKind: String, Sendable, Hashable, CaseIterable {
    case xxh3
    case sha256
}

/// A checksum of one stream, updated chunk by chunk in order.
package final class StreamChecksum: @unchecked Sendable {
    package let kind: ChecksumKind
    private let xxh3: OpaquePointer?
    private var sha256: SHA256?

    package init(_ kind: ChecksumKind) {
        self.kind = kind
        switch kind {
        case .xxh3:
            guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
            XXH3_64bits_reset(state)
            xxh3 = state
            sha256 = nil
        case .sha256:
            xxh3 = nil
            sha256 = SHA256()
        }
    }

    deinit {
        if let xxh3 { XXH3_freeState(xxh3) }
    }

    package func absorb(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { absorb($0) }
    }

    package func absorb(_ raw: UnsafeRawBufferPointer) {
        if let xxh3 {
            tapedeck_xxh3_update(xxh3, raw.baseAddress, raw.count)
        } else {
            sha256?.update(bufferPointer: raw)
        }
    }

    /// Lowercase hex of the checksum so far (the stream may go on): 16
    /// digits for XXH3-64, as `xxhsum -H3` prints it; 64 for SHA-256.
    package var hex: String {
        if let xxh3 { return Self.hex(xxh3: XXH3_64bits_digest(xxh3)) }
        return hexString(sha256!.finalize())
    }

    /// XXH3-64 of the stream so far (the stream may go on); XXH3 only.
    package var xxh3Value: UInt64 {
        guard let xxh3 else { preconditionFailure("xxh3Value of a \(kind) checksum") }
        return XXH3_64bits_digest(xxh3)
    }

    /// `hex` of an XXH3-64 of no bytes.
    package static let emptyXXH3 = StreamChecksum(.xxh3).hex

    /// `value` as `hex` shows an XXH3-64.
    package static func hex(xxh3 value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A copy of this checksum's state, for `restore(_:)`.
    package func saved() -> StreamChecksum {
        let copy = StreamChecksum(kind)
        if let xxh3, let target = copy.xxh3 { XXH3_copyState(target, xxh3) }
        copy.sha256 = sha256
        return copy
    }

    /// Takes back the state `saved()` copied: what was absorbed since is forgotten.
    package func restore(_ saved: StreamChecksum) {
        if let xxh3, let source = saved.xxh3 { XXH3_copyState(xxh3, source) }
        sha256 = saved.sha256
    }

    /// The checksum of `bytes` alone.
    package static func hex(_ kind: ChecksumKind, of bytes: ByteBuffer) -> String {
        let checksum = StreamChecksum(kind)
        checksum.absorb(bytes)
        return checksum.hex
    }
}
