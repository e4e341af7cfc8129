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
    /// first (SMTP, MySQL, SSH greetings) means `generic`. An HTTP request
    /// line is told from a Redis inline command of the same word (`GET k1`)
    /// by its version, so up to `requestLineLimit` bytes are looked at.
    public static func detect(clientFirstBytes: ByteBuffer, serverFirstBytes: ByteBuffer = ByteBuffer()) -> ProtocolKind? {
        let client = Array(clientFirstBytes.readableBytesView.prefix(16))
        if client.isEmpty {
            return serverFirstBytes.readableBytes > 0 ? .generic : nil
        }
        // A method and a space begin an HTTP request and a Redis inline
        // command alike (`GET k1`): the request line's version decides.
        let method = looksLikeHTTP(client)
        let http = method == true ? hasHTTPVersion(clientFirstBytes) : method
        if method == true, http == nil { return nil }
        switch (looksLikePostgres(client), http, looksLikeRedis(client)) {
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

    /// How many first bytes `detect` wants: enough for a request line.
    public static let requestLineLimit = 1024

    /// The first line ends in an HTTP version (`GET / HTTP/1.1`); false for
    /// a line without one (`GET k1`, Redis inline); nil while the line has
    /// not ended within `requestLineLimit` bytes — past that, a request
    /// line (a long URL) is taken to be HTTP.
    static func hasHTTPVersion(_ bytes: ByteBuffer) -> Bool? {
        let view = bytes.readableBytesView.prefix(requestLineLimit)
        func endsWithVersion(_ line: [UInt8]) -> Bool {
            let version = Array(" HTTP/".utf8)
            guard line.count >= version.count + 3 else { return false }
            let tail = Array(line.suffix(version.count + 3))
            return Array(tail.prefix(version.count)) == version
                && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(tail[version.count])
                && tail[version.count + 1] == UInt8(ascii: ".")
                && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(tail[version.count + 2])
        }
        guard let end = view.firstIndex(of: UInt8(ascii: "\n")) else {
            // The line goes on; a version already at its end decides it.
            if endsWithVersion(Array(view)) { return true }
            return view.count >= requestLineLimit ? true : nil
        }
        var line = Array(view[view.startIndex..<end])
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return endsWithVersion(line)
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
