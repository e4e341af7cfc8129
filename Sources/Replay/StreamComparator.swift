import NIOCore
import Recording

/// Bytes that legitimately differ between a recording and a replay (ids,
/// timestamps) and are not compared.
public struct IgnoreRule: Sendable, Hashable, CustomStringConvertible {
    public enum Target: Sendable, Hashable {
        /// `LENGTH` bytes from `OFFSET` of the stream.
        case range(offset: Int, length: Int)
        /// Every match of the pattern in the recorded bytes (read as
        /// ISO-8859-1, one character per byte).
        case pattern(String)
    }

    /// The direction whose bytes the rule covers; nil for both.
    public var direction: Direction?
    public var target: Target

    public init(direction: Direction? = nil, target: Target) {
        self.direction = direction
        self.target = target
    }

    /// Parses `--ignore-bytes [client:|server:]OFFSET:LEN` (client = what
    /// the client sends, server = what the server sends).
    public init(parsingRange text: String) throws(ReplayError) {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var direction: Direction?
        if parts.count == 3 {
            switch parts.removeFirst() {
            case "client": direction = .clientToServer
            case "server": direction = .serverToClient
            case let other: throw ReplayError(.invalidOption, "--ignore-bytes '\(text)': '\(other)' is not a side (client or server)")
            }
        }
        guard parts.count == 2, let offset = Int(parts[0]), let length = Int(parts[1]), offset >= 0, length > 0 else {
            throw ReplayError(.invalidOption, "--ignore-bytes '\(text)': expected [client:|server:]OFFSET:LENGTH with OFFSET ≥ 0 and LENGTH > 0")
        }
        self.init(direction: direction, target: .range(offset: offset, length: length))
    }

    /// `--ignore REGEX`, checked to compile.
    public init(parsingPattern pattern: String, direction: Direction? = nil) throws(ReplayError) {
        do {
            _ = try Regex(pattern)
        } catch {
            throw ReplayError(.invalidOption, "--ignore '\(pattern)': not a valid regular expression: \(error)")
        }
        self.init(direction: direction, target: .pattern(pattern))
    }

    public var description: String {
        let side = direction.map { $0 == .clientToServer ? "client:" : "server:" } ?? ""
        switch target {
        case .range(let offset, let length): return "\(side)\(offset):\(length)"
        case .pattern(let pattern): return "\(side)/\(pattern)/"
        }
    }
}

/// The first place a live stream differs from the recorded one.
public struct Mismatch: Sendable, Codable, Hashable {
    /// The recorded session's index.
    public var session: Int
    /// Whose bytes differ: `client_to_server` (the client sent something
    /// else) or `server_to_client` (the server answered something else).
    public var direction: Direction
    /// The first differing byte's offset in that direction's stream.
    public var offset: Int
    /// Recorded bytes from a little before `offset`, in hex.
    public var expected: String
    /// Live bytes from the same place, in hex (shorter when the stream ended).
    public var actual: String
    /// What was different, in words.
    public var reason: String

    /// A hex diff for logs: the two windows, one line each, with the offset.
    public var hexDiff: String {
        "session \(session) \(direction) differs at byte \(offset) (\(reason))\n  recorded: \(expected)\n  live:     \(actual)"
    }
}

/// Compares a live stream, as it arrives, with the recorded one, skipping
/// ignored bytes. Reports the first difference only.
public struct StreamComparator: Sendable {
    public let session: Int
    public let direction: Direction
    private let expected: [UInt8]
    private var ignored: [Bool]
    private var window: [UInt8] = []
    /// Live bytes compared so far.
    public private(set) var received = 0
    public private(set) var mismatch: Mismatch?

    static let context = 8
    static let shown = 24

    public init(session: Int, direction: Direction, expected: ByteBuffer, ignoring rules: [IgnoreRule]) {
        self.session = session
        self.direction = direction
        self.expected = Array(expected.readableBytesView)
        self.ignored = Self.mask(for: self.expected, direction: direction, rules: rules)
    }

    public var expectedCount: Int { expected.count }

    /// Feeds live bytes; returns the mismatch when these bytes revealed it.
    @discardableResult
    public mutating func feed(_ buffer: ByteBuffer) -> Mismatch? {
        guard mismatch == nil else {
            received += buffer.readableBytes
            return nil
        }
        let start = received
        var differing: Int?
        buffer.withUnsafeReadableBytes { live in
            for (index, byte) in live.enumerated() {
                let position = start + index
                if position >= expected.count {
                    differing = position
                    break
                }
                if byte != expected[position], !ignored[position] {
                    differing = position
                    break
                }
            }
        }
        // Keep a little of what came before, for the diff's context.
        window.append(contentsOf: buffer.readableBytesView)
        let keep = Self.context + Self.shown
        received += buffer.readableBytes
        if let differing {
            mismatch = report(at: differing, reason: differing >= expected.count ? "more bytes than recorded (\(expected.count))" : "different bytes")
            return mismatch
        }
        if window.count > keep * 4 { window.removeFirst(window.count - keep) }
        return nil
    }

    /// Called when the live stream has ended: fewer bytes than recorded is a
    /// difference too.
    @discardableResult
    public mutating func finish() -> Mismatch? {
        guard mismatch == nil, received < expected.count else { return nil }
        let remainingIgnored = ignored[received...].allSatisfy { $0 }
        guard !remainingIgnored else { return nil }
        mismatch = report(at: received, reason: "stream ended after \(received) of \(expected.count) recorded bytes")
        return mismatch
    }

    private func report(at offset: Int, reason: String) -> Mismatch {
        let from = max(0, offset - Self.context)
        let expectedSlice = expected[min(from, expected.count)..<min(offset + Self.shown, expected.count)]
        let liveStart = received - window.count
        let liveFrom = max(from, liveStart)
        let liveSlice = window[(liveFrom - liveStart)..<min(window.count, offset + Self.shown - liveStart)]
        return Mismatch(
            session: session,
            direction: direction,
            offset: offset,
            expected: Self.hex(expectedSlice, from: from),
            actual: Self.hex(liveSlice, from: liveFrom),
            reason: reason
        )
    }

    static func hex<C: Collection<UInt8>>(_ bytes: C, from offset: Int) -> String {
        let body = bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined(separator: " ")
        let printable = String(bytes.map { (0x20..<0x7f).contains($0) ? Character(Unicode.Scalar($0)) : "." })
        return "@\(offset): \(body)  |\(printable)|"
    }

    static func mask(for bytes: [UInt8], direction: Direction, rules: [IgnoreRule]) -> [Bool] {
        var ignored = [Bool](repeating: false, count: bytes.count)
        var text: String?
        for rule in rules where rule.direction == nil || rule.direction == direction {
            switch rule.target {
            case .range(let offset, let length):
                guard offset < bytes.count else { continue }
                for index in offset..<min(bytes.count, offset + length) { ignored[index] = true }
            case .pattern(let pattern):
                guard let regex = try? Regex(pattern).matchingSemantics(.unicodeScalar) else { continue }
                if text == nil {
                    var scalars = String.UnicodeScalarView()
                    scalars.append(contentsOf: bytes.lazy.map { Unicode.Scalar($0) })
                    text = String(scalars)
                }
                let scalars = text!.unicodeScalars
                for range in text!.ranges(of: regex) {
                    let lower = scalars.distance(from: scalars.startIndex, to: range.lowerBound)
                    let upper = scalars.distance(from: scalars.startIndex, to: range.upperBound)
                    for index in lower..<upper { ignored[index] = true }
                }
            }
        }
        return ignored
    }
}

/// A replay error with a one-line message for the user.
