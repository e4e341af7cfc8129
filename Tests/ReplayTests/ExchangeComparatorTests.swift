import NIOCore
import Protocols
@testable import Replay
import Testing

/// `replay drive`'s comparison exchange by exchange: each difference names
/// the request it answers, in the protocol's terms, and masks take out what
/// does not count.
struct ExchangeComparatorTests {
    typealias Chunks = [(client: Bool, bytes: [UInt8])]

    static func compare(_ kind: ProtocolKind, recorded: Chunks, live: Chunks, masks: String = "{}") throws -> [String] {
        let comparator = ExchangeComparator(protocol: kind, masks: try Masks(json: Array(masks.utf8)))
        return comparator.compare(session: 3, recorded: ProtocolBytes.chunks(recorded), live: ProtocolBytes.chunks(live)).map(\.description)
    }

    @Test func httpStatusHeadersAndJSONFieldsNameTheRequest() throws {
        let recorded: Chunks = [
            (true, ProtocolBytes.get("/users/7")), (false, ProtocolBytes.http(200, headers: [("X-Request-Id", "r1"), ("Content-Type", "application/json")], body: #"{"id": 7, "name": "ada", "requestId": "r1"}"#)),
            (true, ProtocolBytes.get("/users/8")), (false, ProtocolBytes.http(200, body: "same")),
        ]
        let live: Chunks = [
            (true, ProtocolBytes.get("/users/7")), (false, ProtocolBytes.http(500, headers: [("X-Request-Id", "r2"), ("Content-Type", "application/json")], body: #"{"id": 7, "name": "bob", "requestId": "r2"}"#)),
            (true, ProtocolBytes.get("/users/8")), (false, ProtocolBytes.http(200, body: "same")),
        ]
        #expect(try Self.compare(.http, recorded: recorded, live: live) == [
            #"GET /users/7: status 200 → 500; header X-Request-Id: "r1" → "r2"; $.name: "ada" → "bob"; $.requestId: "r1" → "r2""#
        ])
        // Masked, only what is not noise is left; a body of another length does not count through Content-Length.
        #expect(try Self.compare(.http, recorded: recorded, live: live, masks: #"{"http": {"headers": ["x-request-id"], "json": ["$.requestId"]}}"#) == [
            #"GET /users/7: status 200 → 500; $.name: "ada" → "bob""#
        ])
        let equal = live.map { ($0.client, $0.bytes == live[1].bytes ? recorded[1].bytes : $0.bytes) }
        #expect(try Self.compare(.http, recorded: recorded, live: equal).isEmpty)
    }

    @Test func serverRegexesMaskBodiesAndHeaderLines() throws {
        let recorded: Chunks = [(true, ProtocolBytes.get("/")), (false, ProtocolBytes.http(200, headers: [("Server", "v1.2.3")], body: "<input name=csrf value=abc123>"))]
        let live: Chunks = [(true, ProtocolBytes.get("/")), (false, ProtocolBytes.http(200, headers: [("Server", "v1.2.4")], body: "<input name=csrf value=ffff0000>"))]
        let unmasked = try Self.compare(.http, recorded: recorded, live: live)
        #expect(unmasked == [
            #"GET /: header Server: "v1.2.3" → "v1.2.4"; body differs from byte 23 (30 bytes → 32)"#
        ])
        let masks = #"{"bytes": [{"side": "server", "regex": "csrf value=[0-9a-f]+"}, {"side": "server", "regex": "Server: [^\\r]*"}]}"#
        #expect(try Self.compare(.http, recorded: recorded, live: live, masks: masks).isEmpty)
    }

    @Test func redisRepliesAreComparedAsValues() throws {
        let recorded: Chunks = [
            (true, ProtocolBytes.resp("GET", "k:1")), (false, ProtocolBytes.text("$1\r\na\r\n")),
            (true, ProtocolBytes.resp("LRANGE", "l", "0", "-1")), (false, ProtocolBytes.text("*2\r\n$1\r\nx\r\n$1\r\ny\r\n")),
            (true, ProtocolBytes.resp("TIME")), (false, ProtocolBytes.text("*2\r\n$10\r\n1700000000\r\n$1\r\n5\r\n")),
            (true, ProtocolBytes.resp("INCR", "n")), (false, ProtocolBytes.text(":3\r\n")),
        ]
        let live: Chunks = [
            (true, ProtocolBytes.resp("GET", "k:1")), (false, ProtocolBytes.text("$-1\r\n")),
            (true, ProtocolBytes.resp("LRANGE", "l", "0", "-1")), (false, ProtocolBytes.text("*2\r\n$1\r\nx\r\n$1\r\nz\r\n")),
            (true, ProtocolBytes.resp("TIME")), (false, ProtocolBytes.text("*2\r\n$10\r\n1800000000\r\n$1\r\n7\r\n")),
            (true, ProtocolBytes.resp("INCR", "n")), (false, ProtocolBytes.text("-WRONGTYPE not a number\r\n")),
        ]
        #expect(try Self.compare(.redis, recorded: recorded, live: live, masks: #"{"redis": {"replies": ["time"]}}"#) == [
            #"GET k:1: "a" → nil"#,
            #"LRANGE l 0 -1: item 2: "y" → "z""#,
            "INCR n: 3 → (error) WRONGTYPE not a number",
        ])
    }

    @Test func postgresResultsCompareRowsValuesAndErrors() throws {
        let select = "SELECT id, name, at FROM users WHERE id > $1"
        let recorded: Chunks = [
            (true, ProtocolBytes.startup()), (false, ProtocolBytes.loggedIn(key: 1)),
            (true, ProtocolBytes.extended(select, ["0"])), (false, ProtocolBytes.boundOK + ProtocolBytes.rows(["id", "name", "at"], [["1", "ann", "t1"], ["2", "bo", "t1"], ["3", nil, "t1"]]) + ProtocolBytes.ready()),
            (true, ProtocolBytes.extended(select, ["1"])), (false, ProtocolBytes.boundOK + ProtocolBytes.rows(["id", "name", "at"], [["2", "bo", "t1"], ["3", nil, "t1"]]) + ProtocolBytes.ready()),
            (true, ProtocolBytes.query("DELETE FROM t")), (false, ProtocolBytes.complete("DELETE 2") + ProtocolBytes.ready()),
        ]
        let live: Chunks = [
            (true, ProtocolBytes.startup()), (false, ProtocolBytes.loggedIn(key: 99)),
            (true, ProtocolBytes.extended(select, ["0"])), (false, ProtocolBytes.boundOK + ProtocolBytes.rows(["id", "name", "at"], [["1", "ann", "t2"], ["2", "bo", "t2"]]) + ProtocolBytes.ready()),
            (true, ProtocolBytes.extended(select, ["1"])), (false, ProtocolBytes.boundOK + ProtocolBytes.rows(["id", "name", "at"], [["2", "bob", "t2"], ["3", "cy", "t2"]]) + ProtocolBytes.ready()),
            (true, ProtocolBytes.query("DELETE FROM t")), (false, ProtocolBytes.error("42P01", "relation \"t\" does not exist") + ProtocolBytes.ready()),
        ]
        // The login's backend key differs and does not count.
        #expect(try Self.compare(.postgres, recorded: recorded, live: live, masks: #"{"postgres": {"columns": [{"column": "at"}]}}"#) == [
            "\(select): 3 rows → 2 rows",
            // The first row where a column differs, per column.
            #"\#(select): row 1 name: "bo" → "bob""#,
            #"DELETE FROM t: DELETE 2 → ERROR 42P01: relation "t" does not exist"#,
        ])
    }

    @Test func aConnectionThatStopsAnsweringIsOneDifference() throws {
        let recorded: Chunks = (1...4).flatMap { n -> Chunks in [(true, ProtocolBytes.resp("GET", "k\(n)")), (false, ProtocolBytes.text("$1\r\n\(n)\r\n"))] }
        let live: Chunks = Array(recorded.prefix(2)) + [(true, ProtocolBytes.resp("GET", "k2")), (true, ProtocolBytes.resp("GET", "k3")), (true, ProtocolBytes.resp("GET", "k4"))]
        let found = try Self.compare(.redis, recorded: recorded, live: live)
        #expect(found == ["GET k2: 1 answer → no answer; and 2 later requests unanswered"])
        let comparator = ExchangeComparator(protocol: .redis)
        let differences = comparator.compare(session: 3, recorded: ProtocolBytes.chunks(recorded), live: ProtocolBytes.chunks(live))
        #expect(differences.map(\.session) == [3])
        #expect(differences.map(\.exchange) == [1])
    }
}

extension ExchangeComparatorTests {
    @Test func aSessionReportsAtMostTwentyExchangesAndCountsTheRest() throws {
        let recorded: Chunks = (1...30).flatMap { n -> Chunks in [(true, ProtocolBytes.resp("GET", "k\(n)")), (false, ProtocolBytes.text(":\(n)\r\n"))] }
        let live: Chunks = (1...30).flatMap { n -> Chunks in [(true, ProtocolBytes.resp("GET", "k\(n)")), (false, ProtocolBytes.text(":0\r\n"))] }
        let found = try Self.compare(.redis, recorded: recorded, live: live)
        #expect(found.count == 20)
        #expect(found.first == "GET k1: 1 → 0")
        #expect(found.last == "GET k20: 20 → 0; and 10 later exchanges of this session differ")
    }
}
