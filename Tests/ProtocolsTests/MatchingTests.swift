import NIOCore
import Testing

@testable import Protocols

@Suite("Request keys, descriptions and answers")
struct MatchingTests {
    private func request(_ text: String, as protocolKind: ProtocolKind) throws -> [Message] {
        let framed = Framed(Transcript("request", client: [text], server: []), as: protocolKind)
        try #require(framed.failure == nil)
        return framed.side(.client)
    }

    private func key(_ text: String, as protocolKind: ProtocolKind, options: KeyOptions = KeyOptions()) throws -> ExchangeKey {
        var keyer = RequestKeyer(options: options)
        return keyer.key(for: try request(text, as: protocolKind))
    }

    @Test("HTTP: headers and JSON formatting do not count; method, path, query and body do")
    func http() throws {
        let a = try key("POST /users?b=2&a=1&t=123 HTTP/1.1\r\nHost: x\r\nUser-Agent: one\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"name\": \"Ada\", \"age\": 36}\n", as: .http, options: KeyOptions(ignoredQueryParameters: ["t"]))
        let b = try key("POST /users?a=1&b=2&t=999 HTTP/1.1\r\nContent-Length: 23\r\nUser-Agent: two\r\nContent-Type: application/json\r\n\r\n{\"age\":36,\"name\":\"Ada\"}", as: .http, options: KeyOptions(ignoredQueryParameters: ["t"]))
        #expect(a == b)
        let c = try key("POST /users?a=1&b=2 HTTP/1.1\r\nContent-Length: 23\r\n\r\n{\"age\":37,\"name\":\"Ada\"}", as: .http)
        #expect(a != c)
        guard case .http(let method, let path, let query, _) = a else {
            Issue.record("not an HTTP key")
            return
        }
        #expect(method == "POST" && path == "/users")
        #expect(query == [.init(name: "a", value: "1"), .init(name: "b", value: "2")])
    }

    @Test("HTTP: chunked and Content-Length bodies with the same content, and form bodies in any order, match")
    func httpBodies() throws {
        let chunked = try key("PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", as: .http)
        let length = try key("PUT /f HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", as: .http)
        #expect(chunked == length)
        let form = "Content-Type: application/x-www-form-urlencoded\r\n"
        #expect(try key("POST /l HTTP/1.1\r\n\(form)Content-Length: 13\r\n\r\nuser=a&pw=b+c", as: .http) == key("POST /l HTTP/1.1\r\n\(form)Content-Length: 15\r\n\r\npw=b%20c&user=a", as: .http))
    }

    @Test("Redis: the command name in any case, the arguments exactly")
    func redis() throws {
        #expect(try key("*2\r\n$3\r\nget\r\n$3\r\nk:1\r\n", as: .redis) == key("GET k:1\r\n", as: .redis))
        #expect(try key("GET k:1\r\n", as: .redis) != key("GET K:1\r\n", as: .redis))
    }

    @Test("PostgreSQL: statement text up to white space, and parameters; named statements are remembered across requests")
    func postgres() throws {
        let startup: [UInt8] = [0, 0, 0, 8, 0, 3, 0, 0]
        func query(_ text: String) -> [UInt8] {
            [UInt8(ascii: "Q")] + withUnsafeBytes(of: Int32(text.utf8.count + 5).bigEndian, Array.init) + Array(text.utf8) + [0]
        }
        let framed = Framed(Transcript("pg", [
            .init(side: .client, bytes: startup + query("SELECT *\n  FROM users\tWHERE name = 'a  b'"), time: .zero),
        ]), as: .postgres)
        var keyer = RequestKeyer()
        let requests = framed.side(.client)
        _ = keyer.key(for: [requests[0]])
        #expect(keyer.key(for: [requests[1]]) == .postgres(.statements([.init(text: "SELECT * FROM users WHERE name = 'a  b'")])))
        #expect(RequestDescription.describe([requests[1]], limit: 20) == "SELECT * FROM users…")
    }

    @Test("descriptions a person reads")
    func descriptions() throws {
        #expect(RequestDescription.describe(try request("GET /users/7 HTTP/1.1\r\n\r\n", as: .http)) == "GET /users/7")
        #expect(RequestDescription.describe(try request("*2\r\n$3\r\nGET\r\n$3\r\nk:1\r\n", as: .redis)) == "GET k:1")
        #expect(RequestDescription.describe(try request("SET k \"two words\"\r\n", as: .redis)) == "SET k \"two words\"")
        // Long values are cut at the limit, quoted when a byte past it is not plain.
        let plain = String(repeating: "v", count: 70_000)
        #expect(RequestDescription.describe(try request("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$70000\r\n\(plain)\r\n", as: .redis))
            == "SET k " + String(repeating: "v", count: 73) + "…")
        let quoted = String(repeating: "v", count: 1_000) + "\n"
        #expect(RequestDescription.describe(try request("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1001\r\n\(quoted)\r\n", as: .redis))
            == "SET k \"" + String(repeating: "v", count: 72) + "…")
        #expect(RequestDescription.describe(try request("*4\r\n$4\r\nMSET\r\n$1\r\nk\r\n$200\r\n\(String(repeating: "a", count: 200))\r\n$1\r\nz\r\n", as: .redis))
            == "MSET k " + String(repeating: "a", count: 72) + "…")
    }

    @Test("an unmatched HTTP request gets a 502 with a text body, framed back as one response")
    func httpAnswer() throws {
        let requests = try request("GET /users/8 HTTP/1.1\r\nHost: x\r\n\r\n", as: .http)
        let answer = ProtocolAnswer.unmatched(requests, explanation: "no recording of GET /users/8; nearest: GET /users/7", state: SessionState(protocol: .http))
        let framed = Framed(Transcript("answer", [
            .init(side: .client, bytes: Array(requests[0].raw.readableBytesView), time: .zero),
            .init(side: .server, bytes: Array(answer.readableBytesView), time: .zero),
        ]), as: .http)
        let response = try #require(framed.side(.server).first?.http)
        #expect(framed.side(.server).count == 1)
        #expect(response.status == 502)
        #expect(String(buffer: response.body) == "tapedeck: no recording of GET /users/8; nearest: GET /users/7\n")
        let head = ProtocolAnswer.http(status: 502, reason: "Bad Gateway", explanation: "x", request: try request("HEAD / HTTP/1.1\r\n\r\n", as: .http).first?.http)
        #expect(String(buffer: head).hasSuffix("\r\n\r\n"))
    }

    @Test("an unmatched Redis command gets -ERR tapedeck: on one line")
    func redisAnswer() throws {
        let answer = ProtocolAnswer.redisError("no recording of GET k:2\nnearest: GET k:1")
        #expect(RESPValue(parsing: answer) == .simpleError("ERR tapedeck: no recording of GET k:2 nearest: GET k:1"))
    }

    @Test("an unmatched PostgreSQL request gets ErrorResponse with SQLSTATE and one ReadyForQuery per Sync")
    func postgresAnswer() throws {
        let answer = ProtocolAnswer.postgresError("no recording of SELECT 2", readyForQuery: 2, status: .inTransaction)
        var framer = PostgresFramer()
        let messages = framer.feed(ByteBuffer(bytes: [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 0]) , from: .server, at: .zero)
            + framer.feed(answer, from: .server, at: .zero) + framer.finish()
        #expect(framer.stop == nil)
        let backend = messages.compactMap(\.postgres).dropFirst()
        #expect(backend.map(\.backend) == [.errorResponse, .readyForQuery, .readyForQuery])
        #expect(backend.first?.sqlState == "58000")
        #expect(backend.first?.primaryMessage == "tapedeck: no recording of SELECT 2")
        #expect(backend.last?.transactionStatus == .failed)
        let login = framer.feed(ProtocolAnswer.postgresLogin(parameters: [("server_version", "15.18")]), from: .server, at: .zero)
        #expect(login.compactMap(\.postgres?.backend) == [.authentication, .parameterStatus, .backendKeyData, .readyForQuery])
        #expect(ProtocolAnswer.postgresEncryptionRefused == ByteBuffer(string: "N"))
    }
}
