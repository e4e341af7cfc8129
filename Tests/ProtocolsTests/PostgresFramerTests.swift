import NIOCore
import Testing

@testable import Protocols

@Suite("PostgreSQL v3 framing and pairing")
struct PostgresFramerTests {
    @Test("psql: SSLRequest refused, SCRAM login, a multi-statement query, an error in the middle, a notice")
    func simpleQuery() throws {
        let framed = Framed(try Transcript.fixture("postgres-simple"), as: .postgres)
        #expect(framed.stop == nil)
        let client = framed.side(.client).compactMap(\.postgres)
        #expect(client.first?.kind == .sslRequest)
        #expect(client[1].startupParameters?.first { $0.name == "user" }?.value == "tapedeck")
        #expect(client.filter { $0.frontend == .authenticationResponse }.count == 2)
        let server = framed.side(.server).compactMap(\.postgres)
        #expect(server.first?.kind == .encryptionResponse(UInt8(ascii: "N")))
        #expect(server.compactMap(\.authenticationCode) == [10, 11, 12, 0])

        let items = ExchangePairer.pair(framed.messages, protocol: .postgres)
        let exchanges = items.compactMap(\.exchange)
        #expect(exchanges.map { RequestDescription.describe($0.requests, limit: 200) } == [
            "SSLRequest",
            "startup user=tapedeck database=shop",
            "BEGIN; INSERT INTO items (name) VALUES ('plum'); SELECT id, name FROM items ORDER BY id; COMMIT",
            "SELECT 1; SELECT 1/0; SELECT 2",
            "DO $$ BEGIN RAISE NOTICE 'stock is low: %', 3; END $$",
            "terminate",
        ])
        #expect(exchanges[1].requests.count == 3)
        #expect(exchanges[1].responses.last?.postgres?.transactionStatus == .idle)
        let failing = exchanges[3].responses.compactMap(\.postgres)
        #expect(failing.compactMap(\.sqlState) == ["22012"])
        #expect(failing.last?.backend == .readyForQuery)
        #expect(exchanges[4].responses.compactMap(\.postgres).first?.primaryMessage == "stock is low: 3")
        #expect(exchanges[5].responses.isEmpty)
    }

    @Test("COPY FROM STDIN and TO STDOUT: the client's data joins the request that started the COPY")
    func copy() throws {
        let framed = Framed(try Transcript.fixture("postgres-copy"), as: .postgres)
        #expect(framed.stop == nil)
        let exchanges = ExchangePairer.pair(framed.messages, protocol: .postgres).compactMap(\.exchange)
        let copyIn = try #require(exchanges.first { $0.requests.first?.postgres?.queryText?.hasPrefix("COPY items (name) FROM") == true })
        #expect(copyIn.requests.compactMap(\.postgres?.frontend).contains(.copyDone))
        #expect(copyIn.responses.compactMap(\.postgres?.backend) == [.copyInResponse, .commandComplete, .readyForQuery])
        let copyOut = try #require(exchanges.first { $0.requests.first?.postgres?.queryText == "COPY items TO STDOUT" })
        #expect(copyOut.responses.compactMap(\.postgres?.backend).first == .copyOutResponse)
        #expect(copyOut.responses.compactMap(\.postgres?.backend).contains(.copyDone))
    }

    @Test("extended query from psycopg, pipelined: each Sync closes one request; a failed transaction shows in the next context")
    func extendedQuery() throws {
        let framed = Framed(try Transcript.fixture("postgres-extended"), as: .postgres)
        #expect(framed.stop == nil)
        let exchanges = ExchangePairer.pair(framed.messages, protocol: .postgres).compactMap(\.exchange)
        var keyer = RequestKeyer()
        let keys = exchanges.map { keyer.key(for: $0.requests) }
        let statements = keys.compactMap { key -> [PostgresRequestKey.Statement]? in
            if case .postgres(.statements(let statements)) = key { return statements }
            return nil
        }.flatMap { $0 }
        let select = try #require(statements.first { $0.text.hasPrefix("SELECT id, name FROM items") })
        #expect(select.text == "SELECT id, name FROM items WHERE id = $1 OR name = $2")
        #expect(select.parameters.map { $0.map { Array($0.readableBytesView) } } == [[0, 1], Array("pear".utf8)])
        let nulls = try #require(statements.first { $0.text.hasPrefix("SELECT $1::text") })
        #expect(nulls.parameters.count == 3)
        #expect(nulls.parameters[1] == nil)
        for exchange in exchanges.dropFirst().dropLast() {
            #expect(exchange.responses.last?.postgres?.backend == .readyForQuery, "\(RequestDescription.describe(exchange.requests))")
        }
        let pipeline = try #require(exchanges.first { $0.requests.filter { $0.postgres?.frontend == .execute }.count == 3 })
        #expect(pipeline.responses.filter { $0.postgres?.backend == .commandComplete }.count == 3)
        let missing = try #require(exchanges.first { exchange in exchange.responses.contains { $0.postgres?.sqlState == "42P01" } })
        #expect(missing.context == .postgres(.inTransaction) || missing.context == .postgres(.idle))
        let afterFailure = try #require(exchanges.firstIndex { $0 == missing }).advanced(by: 1)
        #expect(exchanges[afterFailure].context == .postgres(.failed))
    }

    @Test("LISTEN: a notification that arrives while the connection is idle answers nothing")
    func notification() throws {
        let framed = Framed(try Transcript.fixture("postgres-listen-0"), as: .postgres)
        #expect(framed.stop == nil)
        let items = ExchangePairer.pair(framed.messages, protocol: .postgres)
        let unsolicited = items.compactMap { item -> PostgresMessage? in
            if case .unsolicited(let message) = item { return message.postgres }
            return nil
        }
        #expect(unsolicited.compactMap(\.notification?.payload) == ["order 42 shipped"])
    }

    @Test("an accepted SSLRequest makes the rest of the connection opaque, whatever side is fed first")
    func encrypted() throws {
        let ssl: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]
        let transcript = Transcript("tls", [
            .init(side: .client, bytes: ssl, time: .zero),
            .init(side: .server, bytes: [UInt8(ascii: "S")], time: .milliseconds(1)),
            .init(side: .client, bytes: hello, time: .milliseconds(2)),
            .init(side: .server, bytes: [0x16, 0x03, 0x03, 0, 1, 9], time: .milliseconds(3)),
        ])
        for chunking in [Chunking.asRecorded, .serverFirst, .bytewise] {
            let framed = Framed(transcript, as: .postgres, chunking: chunking)
            #expect(framed.stop == .opaque(.encrypted))
            #expect(framed.side(.client).first?.postgres?.kind == .sslRequest)
            #expect(framed.side(.server).first?.postgres?.kind == .encryptionResponse(UInt8(ascii: "S")))
            #expect(framed.side(.client).dropFirst().allSatisfy { $0.content == .turn })
        }
    }

    @Test(
        "bytes that are not PostgreSQL v3 stop framing at the offending byte",
        arguments: [
            (Side.client, [0, 0, 0, 8, 0, 2, 0, 0] as [UInt8], 4),
            (Side.client, [0x7F, 0xFF, 0xFF, 0xFF, 0, 3, 0, 0], 0),
            (Side.client, [0, 0, 0, 9, 0x04, 0xD2, 0x16, 0x2F, 0], 0),
            (Side.client, [0, 0, 0, 8, 0, 3, 0, 0, UInt8(ascii: "Q"), 0xFF, 0xFF, 0xFF, 0xFF], 9),
            (Side.client, [0, 0, 0, 8, 0, 3, 0, 0, UInt8(ascii: "Q"), 0, 0, 0, 2], 9),
            (Side.client, [0, 0, 0, 8, 0, 3, 0, 0, UInt8(ascii: "!"), 0, 0, 0, 4], 8),
            (Side.server, [UInt8(ascii: "R"), 0x40, 0, 0, 1], 1),
            (Side.server, [UInt8(ascii: "Z"), 0, 0, 0, 5, UInt8(ascii: "I"), UInt8(ascii: "q")], 6),
        ]
    )
    func failures(side: Side, bytes: [UInt8], offset: Int) throws {
        let framed = Framed(Transcript("bad", [.init(side: side, bytes: bytes, time: .zero)]), as: .postgres)
        let failure = try #require(framed.failure)
        #expect(failure.side == side)
        #expect(failure.offset == offset, "\(failure)")
        #expect(framed.side(side).flatMap { Array($0.raw.readableBytesView) } == bytes)
    }
}
