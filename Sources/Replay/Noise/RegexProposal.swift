/// Regular expressions for where two byte strings that should be equal
/// differ — what `tapedeck noise` proposes for bytes no field names (a
/// non-JSON body, a path, a SQL text, a generic turn).
///
/// Both strings are cut into tokens: runs of letters, digits and `-_.`,
/// and single other bytes. Where they have the same tokens but for some,
/// each run of differing tokens becomes a class of what appeared there
/// (`[0-9]+`, `[0-9a-f]{32}`, `[0-9a-f\-]{36}`), led by the equal bytes
/// before it up to the nearest word (`nonce=[0-9a-f]{16}`), so it masks
/// that value and not every number. Where the token structure differs, the
/// differing middle is taken whole. A proposal is kept only if it matches
/// in both.
enum RegexProposal {
    /// Context next to a varying value: whole tokens up to the nearest word, at most this many bytes.
    static let contextLimit = 16

    static func propose(_ a: [UInt8], _ b: [UInt8]) -> [String] {
        guard a != b else { return [] }
        let tokensA = tokens(a)
        let tokensB = tokens(b)
        var proposals: [String] = []
        if tokensA.count == tokensB.count, zip(tokensA, tokensB).allSatisfy({ isWord($0.0) == isWord($0.1) && (isWord($0.0) || $0.0 == $0.1) }) {
            for region in regions(tokensA, tokensB) {
                let before = context(tokensA[..<region.lowerBound].reversed(), reversed: true)
                let after = before.isEmpty ? context(Array(tokensA[region.upperBound...]), reversed: false) : []
                let middleA = tokensA[region].flatMap { $0 }
                let middleB = tokensB[region].flatMap { $0 }
                proposals.append(literal(before) + pattern(middleA, middleB) + literal(after))
            }
        } else {
            let prefix = zip(a, b).prefix { $0 == $1 }.count
            let suffix = zip(a.dropFirst(prefix).reversed(), b.dropFirst(prefix).reversed()).prefix { $0 == $1 }.count
            var start = prefix
            while start > 0, isWordByte(a[start - 1]) { start -= 1 }
            let before = context(tokens(Array(a[..<start])).reversed(), reversed: true)
            proposals.append(literal(before) + pattern(Array(a[start..<(a.count - suffix)]), Array(b[start..<(b.count - suffix)])))
        }
        var unique = Set<String>()
        return proposals.filter { proposal in
            guard unique.insert(proposal).inserted else { return false }
            let patterns = BytePatterns([proposal])
            return !patterns.isEmpty && (try? Regex(proposal).wholeMatch(in: "")) == nil && patterns.matchesAll(a) && patterns.matchesAll(b)
        }
    }

    /// Ranges of token indices that differ, a single equal token between
    /// two differing ones joining them; a number grows into the numbers it
    /// is written with (`07:50:00`, `2024-05-01`, `1.2.3`), so a time whose
    /// seconds alone differed is masked whole.
    private static func regions(_ a: [[UInt8]], _ b: [[UInt8]]) -> [Range<Int>] {
        var regions: [Range<Int>] = []
        for index in a.indices where a[index] != b[index] {
            if let last = regions.last, index - last.upperBound <= 1 {
                regions[regions.count - 1] = last.lowerBound..<(index + 1)
            } else {
                regions.append(index..<(index + 1))
            }
        }
        let joiners = Set(":-./".utf8)
        let isNumber = { (token: [UInt8]) in !token.isEmpty && token.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
        let joins = { (index: Int) in a[index].count == 1 && joiners.contains(a[index][0]) }
        return regions.map { region in
            guard region.allSatisfy({ isNumber(a[$0]) || joins($0) }) else { return region }
            var lower = region.lowerBound
            var upper = region.upperBound
            while lower >= 2, joins(lower - 1), isNumber(a[lower - 2]) { lower -= 2 }
            while upper + 1 < a.count, joins(upper), isNumber(a[upper + 1]) { upper += 2 }
            return lower..<upper
        }
    }

    /// Whole tokens next to a value up to and with the nearest word, at
    /// most `contextLimit` bytes; `tokens` nearest first.
    private static func context(_ tokens: some Sequence<[UInt8]>, reversed: Bool) -> [UInt8] {
        var taken: [[UInt8]] = []
        var length = 0
        for token in tokens {
            guard length + token.count <= contextLimit else { break }
            taken.append(token)
            length += token.count
            if isWord(token) { break }
        }
        return (reversed ? taken.reversed() : taken).flatMap { $0 }
    }

    /// A class of the bytes both sides had there, with a length: digits,
    /// hex or letters and digits, and any punctuation seen; anything else
    /// on the line when control bytes or non-ASCII appeared.
    private static func pattern(_ a: [UInt8], _ b: [UInt8]) -> String {
        let bytes = Set(a + b)
        let digits = Set(UInt8(ascii: "0")...UInt8(ascii: "9"))
        let lowerHex = digits.union(UInt8(ascii: "a")...UInt8(ascii: "f"))
        let upperHex = digits.union(UInt8(ascii: "A")...UInt8(ascii: "F"))
        guard bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) else {
            return "[^\\r\\n]" + quantity(a.count, b.count, fixed: false)
        }
        let letters = Set(UInt8(ascii: "a")...UInt8(ascii: "z")).union(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        let extras = bytes.subtracting(digits).subtracting(letters).sorted()
        let core = bytes.subtracting(extras)
        let range: String
        if core.isSubset(of: digits) {
            range = "0-9"
        } else if core.isSubset(of: lowerHex) {
            range = "0-9a-f"
        } else if core.isSubset(of: upperHex) {
            range = "0-9A-F"
        } else {
            range = "A-Za-z0-9"
        }
        let extra = extras.map { "\\^-[]".utf8.contains($0) ? "\\" + String(UnicodeScalar($0)) : literal([$0]) }.joined()
        return "[\(range)\(extra)]" + quantity(a.count, b.count, fixed: range != "0-9" || !extras.isEmpty)
    }

    /// `{n}` for a fixed-width value (an id, a hash, a timestamp), `+` for
    /// a number that may grow or any value of varying length.
    private static func quantity(_ a: Int, _ b: Int, fixed: Bool) -> String {
        if a == b, fixed, a > 0 { return "{\(a)}" }
        return min(a, b) == 0 ? "*" : "+"
    }

    static func literal(_ bytes: [UInt8]) -> String {
        bytes.map { byte -> String in
            switch byte {
            case 0x0D: return "\\r"
            case 0x0A: return "\\n"
            case 0x09: return "\\t"
            case 0x20...0x7E:
                let character = String(UnicodeScalar(byte))
                return "\\^$.|?*+()[]{}/-#&~".contains(character) ? "\\" + character : character
            default:
                return "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }.joined()
    }

    static func tokens(_ bytes: [UInt8]) -> [[UInt8]] {
        var tokens: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            var end = index + 1
            if isWordByte(bytes[index]) {
                while end < bytes.count, isWordByte(bytes[end]) { end += 1 }
            }
            tokens.append(Array(bytes[index..<end]))
            index = end
        }
        return tokens
    }

    private static func isWord(_ token: [UInt8]) -> Bool { token.first.map(isWordByte) ?? false }

    static func isWordByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }
}
