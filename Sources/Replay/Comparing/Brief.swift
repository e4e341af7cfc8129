import Protocols

/// Short renderings of values for difference messages.
enum Brief {
    static let limit = 40

    /// `"text"`, cut to about `limit` characters, with quotes, backslashes
    /// and control characters escaped.
    static func quoted(_ text: String) -> String {
        wrapped(text.unicodeScalars.map { scalar in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            case "\n": return "\\n"
            case "\r": return "\\r"
            case "\t": return "\\t"
            default: return scalar.value < 0x20 || scalar.value == 0x7F ? hex(scalar.value) : String(scalar)
            }
        })
    }

    /// Bytes as quoted text: UTF-8 as it is, anything else byte by byte,
    /// with bytes outside printable ASCII as `\xHH`.
    static func quoted(bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return quoted(text) }
        return wrapped(bytes.map { byte in
            (0x20..<0x7F).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                ? String(UnicodeScalar(byte)) : hex(UInt32(byte))
        })
    }

    private static func hex(_ value: UInt32) -> String {
        "\\x" + (value < 16 ? "0" : "") + String(value, radix: 16)
    }

    private static func wrapped(_ pieces: [String]) -> String {
        var text = ""
        for (count, piece) in pieces.enumerated() {
            if count == limit - 1, pieces.count > limit {
                text += "…"
                break
            }
            text += piece
        }
        return "\"\(text)\""
    }
}

/// Redis values in a few characters: `"a"`, `nil`, `OK`, `(error) ERR …`, `3`, `[2 items]`.
enum RESPBrief {
    /// `a → b`; within lists of one length, the first item that differs: `item 2: "x" → "y"`.
    static func difference(_ a: RESPValue?, _ b: RESPValue?) -> String {
        if let a, let b, let itemsA = items(a), let itemsB = items(b), itemsA.count == itemsB.count,
            let index = itemsA.indices.first(where: { itemsA[$0] != itemsB[$0] })
        {
            return "item \(index + 1): " + difference(itemsA[index], itemsB[index])
        }
        return "\(a.map(describe) ?? "no reply") → \(b.map(describe) ?? "no reply")"
    }

    private static func items(_ value: RESPValue) -> [RESPValue]? {
        switch value {
        case .array(let items?), .set(let items), .push(let items), .map(let items): return items
        case .attributed(_, let value): return items(value)
        default: return nil
        }
    }

    static func describe(_ value: RESPValue) -> String {
        switch value {
        case .simpleString(let text): return text
        case .simpleError(let text): return "(error) " + text
        case .integer(let number): return "\(number)"
        case .bulkString(let bytes?): return Brief.quoted(bytes: bytes.readableBytesView)
        case .bulkString(nil), .array(nil), .null: return "nil"
        case .double(let text), .bigNumber(let text): return text
        case .boolean(let flag): return flag ? "true" : "false"
        case .blobError(let bytes): return "(error) " + String(buffer: bytes)
        case .verbatimString(_, let text): return Brief.quoted(bytes: text.readableBytesView)
        case .array(let items?), .set(let items), .push(let items): return "[\(items.count) item\(items.count == 1 ? "" : "s")]"
        case .map(let items): return "{\(items.count / 2) field\(items.count == 2 ? "" : "s")}"
        case .attributed(_, let value): return describe(value)
        }
    }
}
