import NIOCore

/// A command a Redis client sent: its words, exactly as sent.
public struct RESPCommand: Sendable, Hashable {
    /// The command name and its arguments; empty for an empty line or `*0`,
    /// which Redis ignores without a reply.
    public var parts: [ByteBuffer]
    /// Sent as a plain line (`PING\r\n`) rather than an array of bulk strings.
    public var isInline: Bool

    public init(parts: [ByteBuffer], isInline: Bool = false) {
        self.parts = parts
        self.isInline = isInline
    }

    /// The command's name, uppercased (`GET`); empty for an empty command.
    public var name: String {
        parts.first.map { String(buffer: $0).uppercased() } ?? ""
    }

    public var arguments: ArraySlice<ByteBuffer> { parts.dropFirst() }

    /// Inline commands detection accepts as a Redis connection's first words.
    static let detectedInlineCommands = [
        "PING", "HELLO", "AUTH", "SELECT", "INFO", "ECHO", "QUIT", "CLIENT", "COMMAND", "SET", "GET",
        "DEL", "EXISTS", "KEYS", "MULTI", "SUBSCRIBE", "PSUBSCRIBE", "MONITOR", "FLUSHALL", "FLUSHDB", "CONFIG",
    ]

    /// Splits an inline command line as Redis does (`sdssplitargs`): words
    /// separated by white space, double quotes with `\xHH` and `\n`-style
    /// escapes, single quotes with `\'`. Nil for unbalanced quotes, or a
    /// closing quote not followed by space.
    static func splitInline(_ line: [UInt8]) -> [[UInt8]]? {
        let isSpace: (UInt8) -> Bool = { [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains($0) }
        var words: [[UInt8]] = []
        var index = 0
        while true {
            while index < line.count, isSpace(line[index]) { index += 1 }
            guard index < line.count else { return words }
            var word: [UInt8] = []
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var done = false
            while !done {
                guard index < line.count else {
                    if inDoubleQuotes || inSingleQuotes { return nil }
                    break
                }
                let byte = line[index]
                if inDoubleQuotes {
                    if byte == UInt8(ascii: "\\"), index + 3 < line.count, line[index + 1] == UInt8(ascii: "x"),
                        let high = hexValue(line[index + 2]), let low = hexValue(line[index + 3])
                    {
                        word.append(high << 4 | low)
                        index += 3
                    } else if byte == UInt8(ascii: "\\"), index + 1 < line.count {
                        index += 1
                        word.append(escaped(line[index]))
                    } else if byte == UInt8(ascii: "\"") {
                        if index + 1 < line.count, !isSpace(line[index + 1]) { return nil }
                        done = true
                    } else {
                        word.append(byte)
                    }
                } else if inSingleQuotes {
                    if byte == UInt8(ascii: "\\"), index + 1 < line.count, line[index + 1] == UInt8(ascii: "'") {
                        index += 1
                        word.append(UInt8(ascii: "'"))
                    } else if byte == UInt8(ascii: "'") {
                        if index + 1 < line.count, !isSpace(line[index + 1]) { return nil }
                        done = true
                    } else {
                        word.append(byte)
                    }
                } else if isSpace(byte) {
                    done = true
                } else if byte == UInt8(ascii: "\"") {
                    inDoubleQuotes = true
                } else if byte == UInt8(ascii: "'") {
                    inSingleQuotes = true
                } else {
                    word.append(byte)
                }
                index += 1
            }
            words.append(word)
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func escaped(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "a"): return 0x07
        default: return byte
        }
    }
}
