import NIOCore
import PcapFile
import Recording
import Replay

/// Sessions of raw protocol bytes, built by hand: HTTP, RESP and
/// PostgreSQL messages for the masks, noise and comparator tests.
enum ProtocolBytes {
    /// A session whose sides send `chunks` in order, one millisecond apart.
    static func session(_ index: Int = 0, _ chunks: [(client: Bool, bytes: [UInt8])]) -> SessionScript {
        let steps = chunks.enumerated().map { offset, chunk in
            SessionScript.Step(offset: Int64(offset + 1) * 1_000_000, direction: chunk.client ? .clientToServer : .serverToClient, action: .data(ByteBuffer(bytes: chunk.bytes)))
        }
        let session = Session(index: index, client: .ip(.loopbackV4, port: UInt16(40_000 + index)), server: .ip(.loopbackV4, port: 5432), opened: Timestamp(seconds: 1_000, nanoseconds: Int64(index) * 1_000_000))
        return SessionScript(session: session, steps: steps, end: .fin)
    }

    /// Chunks as the comparator takes them (side, bytes, time).
    static func chunks(_ chunks: [(client: Bool, bytes: [UInt8])]) -> [ExchangeComparator.Chunk] {
        chunks.enumerated().map { offset, chunk in (chunk.client ? .client : .server, ByteBuffer(bytes: chunk.bytes), .milliseconds(offset + 1)) }
    }

    static func text(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func resp(_ words: String...) -> [UInt8] {
        Array(("*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()).utf8)
    }

    static func http(_ status: Int, headers: [(String, String)] = [], body: String = "") -> [UInt8] {
        let head = "HTTP/1.1 \(status) X\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "Content-Length: \(body.utf8.count)\r\n\r\n"
        return Array((head + body).utf8)
    }

    static func get(_ target: String, headers: [(String, String)] = []) -> [UInt8] {
        Array(("GET \(target) HTTP/1.1\r\nHost: api.test\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n").utf8)
    }

    static func post(_ target: String, json: String) -> [UInt8] {
        Array("POST \(target) HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)".utf8)
    }

    // MARK: PostgreSQL v3

    static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        [type.asciiValue!] + int32(body.count + 4) + body
    }

    static func int32(_ value: Int) -> [UInt8] { withUnsafeBytes(of: Int32(value).bigEndian, Array.init) }
    static func int16(_ value: Int) -> [UInt8] { withUnsafeBytes(of: Int16(value).bigEndian, Array.init) }
    static func cstring(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static func startup(user: String = "app", database: String = "shop") -> [UInt8] {
        let body = int32(196_608) + cstring("user") + cstring(user) + cstring("database") + cstring(database) + [0]
        return int32(body.count + 4) + body
    }

    /// AuthenticationOk, a BackendKeyData with this key, ReadyForQuery.
    static func loggedIn(key: Int = 1) -> [UInt8] {
        message("R", int32(0)) + message("K", int32(key) + int32(key)) + ready()
    }

    static func ready(_ status: Character = "I") -> [UInt8] { message("Z", [status.asciiValue!]) }
    static func query(_ text: String) -> [UInt8] { message("Q", cstring(text)) }

    /// Parse (unnamed), Bind with text parameters, Describe portal, Execute, Sync.
    static func extended(_ text: String, _ parameters: [String?]) -> [UInt8] {
        let values = parameters.flatMap { value in value.map { int32($0.utf8.count) + Array($0.utf8) } ?? int32(-1) }
        return message("P", cstring("") + cstring(text) + int16(0))
            + message("B", cstring("") + cstring("") + int16(0) + int16(parameters.count) + values + int16(0))
            + message("D", [UInt8(ascii: "P")] + cstring(""))
            + message("E", cstring("") + int32(0))
            + message("S", [])
    }

    /// RowDescription, DataRows, CommandComplete `SELECT n`.
    static func rows(_ columns: [String], _ rows: [[String?]]) -> [UInt8] {
        let description = message("T", int16(columns.count) + columns.flatMap { cstring($0) + [UInt8](repeating: 0, count: 18) })
        let data = rows.flatMap { row in
            message("D", int16(row.count) + row.flatMap { value in value.map { int32($0.utf8.count) + Array($0.utf8) } ?? int32(-1) })
        }
        return description + data + complete("SELECT \(rows.count)")
    }

    static func complete(_ tag: String) -> [UInt8] { message("C", cstring(tag)) }

    static func error(_ code: String, _ text: String) -> [UInt8] {
        message("E", [UInt8(ascii: "S")] + cstring("ERROR") + [UInt8(ascii: "C")] + cstring(code) + [UInt8(ascii: "M")] + cstring(text) + [0])
    }

    /// ParseComplete, BindComplete: what an extended run answers before its rows.
    static let boundOK = message("1", []) + message("2", [])
}
