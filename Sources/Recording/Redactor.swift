import NIOCore

/// Masks every match of a pattern with a same-length filler, so a
/// recording keeps its framing (lengths, offsets) without the secret.
///
/// Matching works on bytes read as ISO-8859-1 (one character per byte). A
/// match split across two reads is not seen.
struct Redactor: @unchecked Sendable {
    static let filler = UInt8(ascii: "*")
    private let regex: Regex<AnyRegexOutput>

    init(pattern: String) throws {
        regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
    }

    /// The buffer with matches masked, or the same buffer when nothing matched.
    func redact(_ buffer: ByteBuffer) -> ByteBuffer {
        let bytes = buffer.readableBytesView
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: bytes.lazy.map { Unicode.Scalar($0) })
        let text = String(scalars)
        let ranges = text.ranges(of: regex)
        guard !ranges.isEmpty else { return buffer }
        var masked = Array(bytes)
        for range in ranges {
            let lower = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: range.lowerBound)
            let upper = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: range.upperBound)
            for index in lower..<upper { masked[index] = Self.filler }
        }
        return ByteBuffer(bytes: masked)
    }
}
