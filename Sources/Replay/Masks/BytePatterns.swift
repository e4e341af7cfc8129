/// Compiled byte regexes of one side, applied to bytes read one character
/// per byte (ISO-8859-1), as `--ignore` reads them.
///
/// Threading: shared by every connection. `Regex` is not marked `Sendable`
/// because its output type need not be; its compiled program is built
/// once, atomically, and only read after, so one may match on many threads.
struct BytePatterns: @unchecked Sendable {
    private let regexes: [Regex<AnyRegexOutput>]

    /// What each match is replaced with: equal text around masked bytes compares equal.
    static let placeholder: Unicode.Scalar = "\u{0}"

    init(_ patterns: [String]) {
        regexes = patterns.compactMap { try? Regex($0).matchingSemantics(.unicodeScalar) }
    }

    var isEmpty: Bool { regexes.isEmpty }

    /// `bytes` with every match of every pattern replaced by one placeholder.
    func masked(_ bytes: some Collection<UInt8>) -> [UInt8] {
        guard !regexes.isEmpty else { return Array(bytes) }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: bytes.lazy.map { Unicode.Scalar($0) })
        var text = String(scalars)
        for regex in regexes { text = text.replacing(regex, with: String(Self.placeholder)) }
        return text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
    }

    /// Whether `bytes` hold a match of every pattern (for checking proposals).
    func matchesAll(_ bytes: some Collection<UInt8>) -> Bool {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: bytes.lazy.map { Unicode.Scalar($0) })
        let text = String(scalars)
        return regexes.allSatisfy { text.contains($0) }
    }
}
