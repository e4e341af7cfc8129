import Foundation
import NIOCore
import Protocols
@testable import Replay
import Testing

/// The masks file (decoded, refused with a line naming the field, written
/// back) and what masks do to requests: the masked and key tiers of
/// request matching.
struct MasksTests {
    static let example = """
        {"http": {"headers": ["X-Request-Id", "Date"], "query": ["ts"], "json": ["$.nonce", "$.items[*].id", "$[\\"odd key\\"]"]},
         "redis": {"arguments": [{"command": "set", "position": 2}], "replies": ["time"]},
         "postgres": {"parameters": [{"statement": "INSERT INTO t (a, b)\\n   VALUES ($1, $2)", "position": 2}, {"position": 1}],
                      "columns": [{"statement": "SELECT id, at FROM t", "column": "at"}]},
         "bytes": [{"side": "client", "regex": "nonce=[0-9a-f]+"}, {"side": "server", "regex": "Server: [^\\\\r]*"}]}
        """

    @Test func theExampleFileDecodesIntoEveryKindOfMask() throws {
        let masks = try Masks(json: Array(Self.example.utf8))
        #expect(masks.http.headers == ["X-Request-Id", "Date"])
        #expect(masks.http.query == ["ts"])
        #expect(masks.http.json.map(\.description) == ["$.nonce", "$.items[*].id", "$[\"odd key\"]"])
        #expect(masks.redis.arguments == [.init(command: "SET", position: 2)])
        #expect(masks.redis.replies == ["TIME"])
        #expect(masks.postgres.parameters == [.init(statement: "INSERT INTO t (a, b) VALUES ($1, $2)", position: 2), .init(statement: nil, position: 1)])
        #expect(masks.postgres.columns == [.init(statement: "SELECT id, at FROM t", column: "at")])
        #expect(masks.bytes.map(\.side) == [.client, .server])
        #expect(masks.count == 13)
        // Written back and read again, nothing is lost.
        #expect(try Masks(json: masks.json) == masks)
        #expect(try Masks(json: Array("{}".utf8)).isEmpty)
    }

    @Test(arguments: [
        ("[1]", "the file: expected an object, found [1 item]"),
        ("{\"http\": {\"header\": [\"a\"]}}", "http.header: unknown field (expected headers, query, json)"),
        ("{\"http\": {\"headers\": [\"a\", 3]}}", "http.headers[1]: expected a non-empty string, found 3"),
        ("{\"http\": {\"json\": [\"nonce\"]}}", "http.json[0]: 'nonce' does not start with $"),
        ("{\"http\": {\"json\": [\"$.a[x]\"]}}", "http.json[0]: '$.a[x]': [x] is not [*], [N] or [\"name\"]"),
        ("{\"redis\": {\"arguments\": [{\"command\": \"SET\"}]}}", "redis.arguments[0]: missing \"position\""),
        ("{\"redis\": {\"arguments\": [{\"command\": \"SET\", \"position\": 0}]}}", "redis.arguments[0].position: expected a position from 1, found 0"),
        ("{\"postgres\": {\"columns\": [{\"statement\": \"S\"}]}}", "postgres.columns[0]: missing \"column\""),
        ("{\"bytes\": [{\"side\": \"both\", \"regex\": \"x\"}]}", "bytes[0].side: expected \"client\" or \"server\""),
        ("{\"bytes\": [{\"side\": \"client\", \"regex\": \"a*\"}]}", "bytes[0].regex: /a*/ matches the empty string, so it would mask nothing"),
        ("{\"bytes\": [{\"side\": \"client\", \"regex\": \"(\"}]}", "bytes[0].regex: /(/ is not a regular expression"),
        ("{\"http\": ", "not JSON"),
    ])
    func aBadFileIsRefusedNamingTheField(_ text: String, _ expected: String) throws {
        do {
            _ = try Masks(json: Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func loadingNamesTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("masks-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json").path
        try Data(Self.example.utf8).write(to: URL(fileURLWithPath: good))
        #expect(try Masks.load(path: good).count == 13)
        let bad = directory.appendingPathComponent("bad.json").path
        try Data("{\"redis\": []}".utf8).write(to: URL(fileURLWithPath: bad))
        #expect(throws: ReplayError.self) { try Masks.load(path: bad) }
        do { _ = try Masks.load(path: bad) } catch { #expect(error.description == "masks file \(bad): redis: expected an object, found [0 items]") }
        do { _ = try Masks.load(path: directory.appendingPathComponent("none.json").path) } catch {
            #expect(error.description.hasPrefix("cannot read the masks file "))
        }
    }

    @Test func jsonPathsParseRemoveAndFindDifferences() throws {
        for text in ["$", "$.a", "$.items[*].id", "$.items[3]", "$[\"a.b\"].c", "$.a-b_c"] {
            #expect(try JSONPath(parsing: text).description == text)
        }
        #expect(throws: MaskError.self) { try JSONPath(parsing: "$['x']") }
        #expect(throws: MaskError.self) { try JSONPath(parsing: "$.a..b") }
        #expect(throws: MaskError.self) { try JSONPath(parsing: "$.a[1") }
    }

    @Test func jsonFieldsAreTakenOutAndDifferencesFoundByPath() throws {
        let a = try #require(JSONValue(parsing: Array(#"{"id": 1, "nonce": "x", "items": [{"id": 5, "n": 1}, {"id": 6, "n": 2}], "t": 1.0}"#.utf8)))
        let b = try #require(JSONValue(parsing: Array(#"{"t": 1, "id": 1, "nonce": "y", "items": [{"id": 7, "n": 1}, {"id": 8, "n": 3}]}"#.utf8)))
        #expect(a.differences(from: b).map { "\($0.path)" } == ["$.items[0].id", "$.items[1].id", "$.items[1].n", "$.nonce"])
        let paths = try ["$.nonce", "$.items[*].id"].map { try JSONPath(parsing: $0) }
        #expect(a.removing(paths).differences(from: b.removing(paths)).map { "\($0.path)" } == ["$.items[1].n"])
        #expect(try JSONPath(parsing: "$.items[1].id").generalized.description == "$.items[*].id")
        #expect(JSONValue(parsing: Array("plain text".utf8)) == nil)
    }

    // MARK: What masks do to matching

    static func book(_ scripts: [SessionScript], masks: String) throws -> ExchangeBook {
        let matching = RequestMatching(masking: try Masks(json: Array(masks.utf8)).requestMasking)
        return try ExchangeBook(sessions: scripts, protocol: RecordedConversations.detect(scripts), matching: matching)
    }

    /// The tier a live request is answered in, and the recorded request that answers it.
    static func ask(_ book: ExchangeBook, _ bytes: [UInt8]) -> String {
        // A PostgreSQL connection is framed from its StartupMessage on.
        let login = book.protocolKind == .postgres ? ProtocolBytes.startup() : []
        let framed = ConnectionFramer.frame([(side: .client, bytes: ByteBuffer(bytes: login + bytes), time: .zero)], protocol: book.protocolKind).messages
        var keyer = RequestKeyer()
        let requests = framed.filter { $0.side == .client && $0.postgres?.kind != .startup(protocolVersion: 196_608) }
        let key = keyer.key(for: requests)
        let probe = ExchangeIndex.Probe(bytes: ByteBuffer(bytes: bytes), key: key, context: SessionState(protocol: book.protocolKind).context)
        switch book.answer(probe, description: { RequestDescription.describe(requests) }, connection: 0) {
        case .recorded(let recorded, let tier): return "\(tier.rawValue): \(recorded.description)"
        case .unmatched: return "unmatched"
        }
    }

    @Test func httpHeaderMasksMatchInTheMaskedTierAndQueryAndJSONMasksInTheKeyTier() throws {
        let scripts = [ProtocolBytes.session(0, [
            (true, ProtocolBytes.get("/a", headers: [("X-Request-Id", "r1"), ("User-Agent", "one")])), (false, ProtocolBytes.http(200, body: "a")),
            (true, ProtocolBytes.get("/b?ts=1&q=x")), (false, ProtocolBytes.http(200, body: "b")),
            (true, ProtocolBytes.post("/c", json: #"{"nonce": "n1", "items": [{"id": 1, "v": 2}]}"#)), (false, ProtocolBytes.http(201, body: "c")),
        ])]
        let masks = #"{"http": {"headers": ["x-request-id", "User-Agent"], "query": ["ts"], "json": ["$.nonce", "$.items[*].id"]}}"#
        let book = try Self.book(scripts, masks: masks)
        // Another id, no User-Agent at all: the same bytes once both are out.
        #expect(Self.ask(book, ProtocolBytes.get("/a", headers: [("X-Request-Id", "r2")])) == "masked: GET /a")
        #expect(Self.ask(book, ProtocolBytes.get("/b?q=x&ts=99")) == "key: GET /b?ts=1&q=x")
        #expect(Self.ask(book, ProtocolBytes.post("/c", json: #"{"items": [{"v": 2, "id": 9}], "nonce": "n2"}"#)) == "key: POST /c")
        // What is not masked still counts.
        #expect(Self.ask(book, ProtocolBytes.get("/b?q=y&ts=1")) == "unmatched")
        #expect(Self.ask(book, ProtocolBytes.post("/c", json: #"{"nonce": "n1", "items": [{"id": 1, "v": 3}]}"#)) == "unmatched")
        // Without masks the first two are unmatched.
        let plain = try! ExchangeBook(sessions: scripts, protocol: RecordedConversations.detect(scripts), matching: RequestMatching())
        #expect(Self.ask(plain, ProtocolBytes.get("/b?q=x&ts=99")) == "unmatched")
    }

    @Test func redisArgumentsAndPostgresParametersAreMaskedByPosition() throws {
        let redis = [ProtocolBytes.session(0, [
            (true, ProtocolBytes.resp("SET", "session:1", "token-aaa", "EX", "60")), (false, ProtocolBytes.text("+OK\r\n")),
        ])]
        let redisBook = try Self.book(redis, masks: #"{"redis": {"arguments": [{"command": "SET", "position": 2}]}}"#)
        #expect(Self.ask(redisBook, ProtocolBytes.resp("set", "session:1", "token-bbb", "EX", "60")) == "key: SET session:1 token-aaa EX 60")
        #expect(Self.ask(redisBook, ProtocolBytes.resp("SET", "session:2", "token-bbb", "EX", "60")) == "unmatched")

        let insert = "INSERT INTO t (a, b) VALUES ($1, $2)"
        let postgres = [ProtocolBytes.session(0, [
            (true, ProtocolBytes.startup()), (false, ProtocolBytes.loggedIn()),
            (true, ProtocolBytes.extended(insert, ["1", "2026-01-01 10:00:00"])), (false, ProtocolBytes.boundOK + ProtocolBytes.message("n", []) + ProtocolBytes.complete("INSERT 0 1") + ProtocolBytes.ready()),
        ])]
        let postgresBook = try Self.book(postgres, masks: #"{"postgres": {"parameters": [{"statement": "INSERT INTO t (a, b)  VALUES ($1, $2)", "position": 2}]}}"#)
        #expect(Self.ask(postgresBook, ProtocolBytes.extended(insert, ["1", "2027-05-05 11:11:11"])) == "key: \(insert)")
        #expect(Self.ask(postgresBook, ProtocolBytes.extended(insert, ["2", "2027-05-05 11:11:11"])) == "unmatched")
    }

    @Test func clientRegexesMaskRequestBytes() throws {
        let masks = try Masks(json: Array(#"{"bytes": [{"side": "client", "regex": "nonce=[0-9a-f]+"}, {"side": "server", "regex": "zzz"}]}"#.utf8))
        let masking = masks.requestMasking
        #expect(masking.masksBytes)
        let one = masking.bytes(ByteBuffer(string: "PING nonce=00ff&x=1\r\n"))
        let two = masking.bytes(ByteBuffer(string: "PING nonce=abcdef12&x=1\r\n"))
        #expect(one == two)
        #expect(masking.bytes(ByteBuffer(string: "zzz")) == ByteBuffer(string: "zzz"), "server regexes do not touch requests")
        #expect(!Masks().requestMasking.masksBytes)
    }
}
