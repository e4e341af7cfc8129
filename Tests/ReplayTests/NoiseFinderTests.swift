import NIOCore
import Protocols
@testable import Replay
import Testing

/// `tapedeck noise` without files: two runs of one scenario, built by
/// hand, and the masks proposed for what differs between them.
struct NoiseFinderTests {
    typealias Chunks = [(client: Bool, bytes: [UInt8])]

    static func noise(_ a: [Chunks], _ b: [Chunks]) -> NoiseReport {
        NoiseFinder.find(
            RecordedConversations(scripts: a.enumerated().map { ProtocolBytes.session($0.offset, $0.element) }),
            RecordedConversations(scripts: b.enumerated().map { ProtocolBytes.session($0.offset, $0.element) })
        )
    }

    static func http(run: Int) -> Chunks {
        let id = "\(run)f3a9c2e-0000-4000-8000-00000000000\(run)"
        return [
            (true, ProtocolBytes.get("/users/7?ts=\(1_700_000_000 + run)&fields=all", headers: [("X-Trace", "t-\(run)")])),
            (false, ProtocolBytes.http(200, headers: [("Date", "Mon, 0\(run) Jan 2024 10:00:00 GMT"), ("Server", "api")], body: #"{"user": {"id": 7}, "requestId": "\#(id)", "items": [{"id": \#(run)0, "n": 1}, {"id": \#(run)1, "n": 2}]}"#)),
            (true, ProtocolBytes.post("/login", json: #"{"user": "ada", "nonce": "n\#(run)"}"#)),
            (false, ProtocolBytes.http(run == 1 ? 200 : 201, body: "<p>csrf=\(run == 1 ? "a1b2c3d4" : "ffee0011")</p>")),
        ]
    }

    @Test func httpHeadersQueryParametersJSONFieldsAndABodyRegexAreProposed() throws {
        let report = Self.noise([Self.http(run: 1)], [Self.http(run: 2)])
        #expect(report.protocolKind == .http)
        #expect(report.pairs == 2)
        #expect(report.pairedByOrder)
        #expect(report.unpaired.isEmpty)
        let masks = report.masks
        #expect(masks.http.headers == ["X-Trace", "Date"])
        #expect(masks.http.query == ["ts"])
        #expect(masks.http.json.map(\.description) == ["$.items[*].id", "$.requestId", "$.nonce"])
        #expect(masks.bytes.map(\.side) == [.server])
        #expect(masks.bytes.map(\.regex) == ["csrf=[0-9a-f]{8}"], "the value, after the nearest word")
        #expect(report.findings.map(\.mask).contains("json $.items[*].id"))
        #expect(report.findings.first { $0.mask == "header Date" }?.count == 1)
        #expect(report.unmaskable.map(\.mask) == ["HTTP status"])
        #expect(report.unmaskable.first?.example == "POST /login: status 200 → 201")

        // The masks make the second run's answers equal to the first's, but for the status.
        let comparator = ExchangeComparator(protocol: .http, masks: masks)
        let left = comparator.compare(session: 0, recorded: ProtocolBytes.chunks(Self.http(run: 1)), live: ProtocolBytes.chunks(Self.http(run: 2)))
        #expect(left.map(\.description) == ["POST /login: status 200 → 201"])
    }

    @Test func redisArgumentPositionsAndVaryingRepliesAreProposed() {
        func run(_ token: String, _ time: String) -> Chunks {
            [
                (true, ProtocolBytes.resp("SET", "session:1", token, "EX", "60")), (false, ProtocolBytes.text("+OK\r\n")),
                (true, ProtocolBytes.resp("GET", "config")), (false, ProtocolBytes.text("$2\r\non\r\n")),
                (true, ProtocolBytes.resp("TIME")), (false, ProtocolBytes.text("*2\r\n$10\r\n\(time)\r\n$1\r\n0\r\n")),
            ]
        }
        let report = Self.noise([run("tok-aaaa", "1700000001")], [run("tok-bbbb", "1700000042")])
        #expect(report.masks.redis.arguments == [.init(command: "SET", position: 2)])
        #expect(report.masks.redis.replies == ["TIME"])
        #expect(report.masks.count == 2)
        #expect(report.findings.map(\.example) == [#"SET session:1 tok-aaaa EX 60: argument 2: "tok-aaaa" → "tok-bbbb""#, #"TIME: item 1: "1700000001" → "1700000042""#])
    }

    @Test func postgresParametersAndResultColumnsAreProposed() {
        let insert = "INSERT INTO events (kind, at) VALUES ($1, $2) RETURNING id"
        func run(_ key: Int, _ at: String, _ id: String) -> Chunks {
            [
                (true, ProtocolBytes.startup()), (false, ProtocolBytes.loggedIn(key: key)),
                (true, ProtocolBytes.extended(insert, ["login", at])), (false, ProtocolBytes.boundOK + ProtocolBytes.rows(["id"], [[id]]) + ProtocolBytes.ready()),
                (true, ProtocolBytes.query("SELECT kind FROM events")), (false, ProtocolBytes.rows(["kind"], [["login"]]) + ProtocolBytes.ready()),
            ]
        }
        let report = Self.noise([run(1, "2024-01-01 10:00:00", "17")], [run(2, "2024-01-01 10:00:05", "18")])
        #expect(report.masks.postgres.parameters == [.init(statement: insert, position: 2)])
        #expect(report.masks.postgres.columns == [.init(statement: insert, column: "id")])
        #expect(report.masks.count == 2, "the login's backend key is not noise: logins are not compared")
    }

    @Test func differentCountsArePairedByRequestAndTheRestListedUnpaired() {
        let a: [Chunks] = [[
            (true, ProtocolBytes.resp("GET", "a")), (false, ProtocolBytes.text("$1\r\n1\r\n")),
            (true, ProtocolBytes.resp("GET", "b")), (false, ProtocolBytes.text("$1\r\n2\r\n")),
            (true, ProtocolBytes.resp("DEL", "c")), (false, ProtocolBytes.text(":1\r\n")),
        ]]
        let b: [Chunks] = [[(true, ProtocolBytes.resp("GET", "b")), (false, ProtocolBytes.text("$1\r\n9\r\n"))], [(true, ProtocolBytes.resp("GET", "z")), (false, ProtocolBytes.text("$1\r\n1\r\n"))]]
        let report = Self.noise(a, b)
        #expect(!report.pairedByOrder)
        #expect(report.pairs == 2)
        #expect(report.unpaired == ["A session 0 exchange 2: DEL c"])
        // GET b with GET b (its reply varies), GET a with GET z by shape (its argument does).
        #expect(report.masks.redis.replies == ["GET"])
        #expect(report.masks.redis.arguments == [.init(command: "GET", position: 1)])
    }

    @Test func identicalRunsProposeNothing() {
        let report = Self.noise([Self.http(run: 1)], [Self.http(run: 1)])
        #expect(report.masks.isEmpty)
        #expect(report.findings.isEmpty && report.unmaskable.isEmpty)
    }

    @Test(arguments: [
        ("token=3f2a9c1e&x=1", "token=a0b1c2d3&x=1", ["token=[0-9a-f]{8}"]),
        ("id: 9b2f6f1e-7c4d-4a8e-9a3e-1f2d3c4b5a6f;", "id: 0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d;", ["id: [0-9a-f\\-]{36}"]),
        ("count=99 end", "count=100 end", ["count=[0-9]+"]),
        ("<b>Sun, 06 Nov 1994 08:49:37</b>", "<b>Sun, 06 Nov 1994 08:50:02</b>", ["1994 [0-9:]{8}"]),
        ("42", "43", ["[0-9]+"]),
        ("v1.2.3 ok", "v1.2.4 ok", ["[A-Za-z0-9\\.]{6} ok"]),
        ("v=abc", "v=abc,def", ["v=[0-9a-f,]+"]),
        ("name=\u{e9}t\u{e9};", "name=hiver;", ["name=[^\\r\\n]+"]),
    ])
    func regexProposalsMatchTheVaryingValueWithItsContext(_ a: String, _ b: String, _ expected: [String]) throws {
        let proposals = RegexProposal.propose(Array(a.utf8), Array(b.utf8))
        #expect(proposals == expected)
        for proposal in proposals {
            let patterns = BytePatterns([proposal])
            #expect(patterns.masked(Array(a.utf8)) == patterns.masked(Array(b.utf8)), "\(proposal) masks both to the same")
        }
    }
}
