import NIOCore

/// Finds where an HTTP/1 head (start line, fields, empty line) ends, resuming
/// where the last scan stopped, and parses it once it is whole.
///
/// Lines end in CRLF or a bare LF (as llhttp's lenient mode and most servers
/// accept). Empty lines before the start line belong to the message (RFC 9112
/// §2.2 lets a server ignore them) so that no byte is lost.
struct HTTPHeadScanner: Sendable {
    enum Kind: Sendable {
        case request
        case response
    }

    let kind: Kind
    /// Relative index of the first byte of the line being scanned.
    private var lineStart = 0
    /// Relative index of the start line (after leading empty lines).
    private var headStart = 0
    private var startLineSeen = false

    init(kind: Kind) {
        self.kind = kind
    }

    /// The relative index one past the head's final LF, once it has arrived.
    mutating func scan(_ buffer: StreamBuffer, limits: FramingLimits) throws(FramingFailure) -> Int? {
        while true {
            let remaining = limits.maximumHeadBytes - (lineStart - headStart)
            guard let lineFeed = buffer.firstIndex(of: UInt8(ascii: "\n"), from: lineStart, limit: max(remaining, 0)) else {
                if !startLineSeen { try checkStartLinePrefix(buffer, from: headStart) }
                if buffer.count - headStart > limits.maximumHeadBytes {
                    throw FramingFailure(.overLimit, at: headStart + limits.maximumHeadBytes, "head longer than \(limits.maximumHeadBytes) bytes")
                }
                return nil
            }
            let isEmpty = lineFeed == lineStart || (lineFeed == lineStart + 1 && buffer.byte(at: lineStart) == UInt8(ascii: "\r"))
            lineStart = lineFeed + 1
            if isEmpty {
                if startLineSeen { return lineStart }
                headStart = lineStart
            } else if !startLineSeen {
                startLineSeen = true
                try checkStartLinePrefix(buffer, from: headStart)
            }
        }
    }

    /// Rejects garbage early, before a whole head's worth of it has arrived.
    /// A CR may begin an empty line whose LF is still to come.
    private func checkStartLinePrefix(_ buffer: StreamBuffer, from start: Int) throws(FramingFailure) {
        guard buffer.byte(at: start) != UInt8(ascii: "\r") else { return }
        switch kind {
        case .response:
            let prefix = Array("HTTP/".utf8)
            for (index, expected) in prefix.enumerated() {
                guard let byte = buffer.byte(at: start + index) else { return }
                guard byte == expected else { throw FramingFailure(.malformed, at: start + index, "status line does not start with HTTP/") }
            }
        case .request:
            var index = start
            while let byte = buffer.byte(at: index), byte != UInt8(ascii: " ") {
                guard HTTPHeadScanner.isTokenByte(byte) else {
                    throw FramingFailure(.malformed, at: index, "byte 0x\(String(byte, radix: 16)) in request method")
                }
                index += 1
            }
        }
    }

    /// Parses the whole head in `head` (its bytes, from the message's first byte).
    static func parse(_ head: ByteBuffer, kind: Kind) throws(FramingFailure) -> HTTPMessage {
        let bytes = Array(head.readableBytesView)
        var lines: [(start: Int, bytes: ArraySlice<UInt8>)] = []
        var lineStart = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            var line = bytes[lineStart..<index]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if !(line.isEmpty && lines.isEmpty) { lines.append((lineStart, line)) }
            lineStart = index + 1
        }
        guard let startLine = lines.first else { throw FramingFailure(.malformed, at: 0, "no start line") }
        for line in lines {
            if let bad = line.bytes.firstIndex(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
                throw FramingFailure(.malformed, at: bad, "control byte 0x\(String(bytes[bad], radix: 16)) in head")
            }
        }
        var message: HTTPMessage
        switch kind {
        case .request: message = try parseRequestLine(startLine.bytes, at: startLine.start)
        case .response: message = try parseStatusLine(startLine.bytes, at: startLine.start)
        }
        message.headers = try lines.dropFirst().dropLast().map { line throws(FramingFailure) in try parseField(line.bytes, at: line.start) }
        return message
    }

    static func parseField(_ line: ArraySlice<UInt8>, at start: Int) throws(FramingFailure) -> HTTPMessage.Field {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                throw FramingFailure(.unsupported, at: start, "obsolete line folding in a header")
            }
            throw FramingFailure(.malformed, at: start, "header line without a colon")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty else { throw FramingFailure(.malformed, at: start, "empty header name") }
        if let bad = name.firstIndex(where: { !isTokenByte($0) }) {
            throw FramingFailure(.malformed, at: start + bad - line.startIndex, "byte 0x\(String(line[bad], radix: 16)) in header name")
        }
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
        return HTTPMessage.Field(name: String(decoding: name, as: UTF8.self), value: String(Substring(value).trimmingASCIIWhitespace()))
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>, at start: Int) throws(FramingFailure) -> HTTPMessage {
        let parts = line.split(separator: UInt8(ascii: " "))
        guard parts.count == 3, line.first != UInt8(ascii: " ") else {
            throw FramingFailure(.malformed, at: start, "request line is not METHOD SP TARGET SP VERSION")
        }
        if let bad = parts[0].firstIndex(where: { !isTokenByte($0) }) {
            throw FramingFailure(.malformed, at: bad, "byte 0x\(String(line[bad], radix: 16)) in request method")
        }
        let minor = try parseVersion(parts[2], at: parts[2].startIndex)
        return HTTPMessage(
            start: .request(method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self)),
            minorVersion: minor,
            headers: []
        )
    }

    private static func parseStatusLine(_ line: ArraySlice<UInt8>, at start: Int) throws(FramingFailure) -> HTTPMessage {
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw FramingFailure(.malformed, at: start, "status line is not VERSION SP STATUS SP REASON") }
        let minor = try parseVersion(parts[0], at: start)
        let digits = parts[1]
        guard digits.count == 3, digits.allSatisfy({ (0x30...0x39).contains($0) }), let status = Int(String(decoding: digits, as: UTF8.self)), status >= 100 else {
            throw FramingFailure(.malformed, at: digits.startIndex, "status is not three digits from 100")
        }
        let reason = parts.count == 3 ? String(decoding: parts[2], as: UTF8.self) : ""
        return HTTPMessage(start: .response(status: status, reason: reason), minorVersion: minor, headers: [])
    }

    private static func parseVersion(_ word: ArraySlice<UInt8>, at start: Int) throws(FramingFailure) -> Int {
        let text = String(decoding: word, as: UTF8.self)
        switch text {
        case "HTTP/1.1": return 1
        case "HTTP/1.0": return 0
        default:
            if text.hasPrefix("HTTP/") { throw FramingFailure(.unsupported, at: start, "version \(text) is not HTTP/1.0 or 1.1") }
            throw FramingFailure(.malformed, at: start, "no HTTP version")
        }
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
