/// SQL text as a key compares it: white space outside quotes collapsed to one
/// space and trimmed, so a statement reformatted across lines still matches.
/// Quoted literals and identifiers ('...', "...") are kept as sent.
package enum StatementText {
    package static func normalized(_ text: String) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        var quote: UInt8?
        var pendingSpace = false
        for byte in text.utf8 {
            if let open = quote {
                result.append(byte)
                if byte == open { quote = nil }
                continue
            }
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace { result.append(0x20) }
            pendingSpace = false
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") { quote = byte }
            result.append(byte)
        }
        return String(decoding: result, as: UTF8.self)
    }
}
