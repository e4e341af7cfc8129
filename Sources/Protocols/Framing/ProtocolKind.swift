import NIOCore

/// The protocols Tapedeck frames into messages; `generic` frames turns.
///
/// The raw values are the words of `--protocol http|redis|postgres|generic`.
public enum ProtocolKind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case http
    case redis
    case postgres
    case generic

    public var description: String { rawValue }

    /// The protocol a connection speaks, from the first bytes each side sent
    /// (either may be empty), or nil when more bytes could still decide.
    ///
    /// All three known protocols speak client first, so a server that sent
    /// first (SMTP, MySQL, SSH greetings) means `generic`.
    public static func detect(clientFirstBytes: ByteBuffer, serverFirstBytes: ByteBuffer = ByteBuffer()) -> ProtocolKind? {
        let client = Array(clientFirstBytes.readableBytesView.prefix(16))
        if client.isEmpty {
            return serverFirstBytes.readableBytes > 0 ? .generic : nil
        }
        switch (looksLikePostgres(client), looksLikeHTTP(client), looksLikeRedis(client)) {
        case (true?, _, _): return .postgres
        case (_, true?, _): return .http
        case (_, _, true?): return .redis
        case (false?, false?, false?): return .generic
        default: return clientFirstBytes.readableBytes >= 16 ? .generic : nil
        }
    }

    /// A startup-phase message: length then protocol 3.x, SSLRequest,
    /// GSSENCRequest or CancelRequest. Nil when fewer than 8 bytes arrived.
    static func looksLikePostgres(_ bytes: [UInt8]) -> Bool? {
        if bytes.first == 0x16 { return false }
        guard bytes.count >= 8 else { return bytes.first == 0 ? nil : false }
        let length = bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let code = bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        switch code {
        case PostgresMessage.sslRequestCode, PostgresMessage.gssEncryptionRequestCode: return length == 8
        case PostgresMessage.cancelRequestCode: return length == 16
        default: return code >> 16 == 3 && (8...PostgresFramer.maximumStartupLength).contains(Int(length))
        }
    }

    /// An HTTP/1 request line's method and space. Nil while a known method's prefix.
    static func looksLikeHTTP(_ bytes: [UInt8]) -> Bool? {
        var undecided = false
        for method in HTTPMessage.detectedMethods {
            let word = Array(method.utf8) + [0x20]
            if bytes.starts(with: word) { return true }
            if word.starts(with: bytes) { undecided = true }
        }
        return undecided ? nil : false
    }

    /// A RESP array header, or an inline command Redis knows as a first command.
    static func looksLikeRedis(_ bytes: [UInt8]) -> Bool? {
        if bytes.first == UInt8(ascii: "*") {
            guard bytes.count >= 2 else { return nil }
            return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[1]) || bytes[1] == UInt8(ascii: "-")
        }
        let upper = bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        var undecided = false
        for command in RESPCommand.detectedInlineCommands {
            let word = Array(command.utf8)
            if upper.starts(with: word) {
                guard upper.count > word.count else { undecided = true; continue }
                if [0x20, 0x0D, 0x0A].contains(upper[word.count]) { return true }
            } else if word.starts(with: upper) {
                undecided = true
            }
        }
        return undecided ? nil : false
    }
}
