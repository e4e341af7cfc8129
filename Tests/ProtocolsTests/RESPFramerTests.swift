import NIOCore
import Testing

@testable import Protocols

@Suite("RESP framing and pairing")
struct RESPFramerTests {
    @Test("RESP3 types: each value is one message, and parses back to what was sent")
    func resp3Types() throws {
        let replies: [(String, RESPValue)] = [
            ("+OK\r\n", .simpleString("OK")),
            ("-ERR unknown command 'FOO'\r\n", .simpleError("ERR unknown command 'FOO'")),
            (":-42\r\n", .integer(-42)),
            ("$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
            ("$0\r\n\r\n", .bulkString(ByteBuffer())),
            ("$-1\r\n", .bulkString(nil)),
            ("*-1\r\n", .array(nil)),
            ("*0\r\n", .array([])),
            ("_\r\n", .null),
            (",1.23e-4\r\n", .double("1.23e-4")),
            (",-inf\r\n", .double("-inf")),
            ("#f\r\n", .boolean(false)),
            ("!21\r\nSYNTAX invalid syntax\r\n", .blobError(ByteBuffer(string: "SYNTAX invalid syntax"))),
            ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: ByteBuffer(string: "Some string"))),
            ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
            ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([.simpleString("first"), .integer(1), .simpleString("second"), .integer(2)])),
            ("~2\r\n+orange\r\n+apple\r\n", .set([.simpleString("orange"), .simpleString("apple")])),
            (">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", .push([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "news")), .bulkString(ByteBuffer(string: "hi"))])),
            (
                "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
                .attributed(
                    attributes: [.simpleString("key-popularity"), .map([.bulkString(ByteBuffer(string: "a")), .double("0.1923"), .bulkString(ByteBuffer(string: "b")), .double("0.0012")])],
                    value: .array([.integer(2_039_123), .integer(9_543_892)])
                )
            ),
            ("*2\r\n*1\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nx\r\n%0\r\n", .array([.array([.attributed(attributes: [.simpleString("ttl"), .integer(3600)], value: .bulkString(ByteBuffer(string: "x")))]), .map([])])),
        ]
        let framed = Framed(Transcript("resp3", [.init(side: .server, bytes: Array(replies.map(\.0).joined().utf8), time: .zero)]), as: .redis)
        #expect(framed.stop == nil)
        let messages = framed.side(.server)
        try #require(messages.count == replies.count)
        for (message, (text, value)) in zip(messages, replies) {
            #expect(message.text == text)
            #expect(RESPValue(parsing: message.raw) == value)
        }
        #expect(messages[17].redis?.replyType == .push)
        #expect(messages[18].redis?.kind == .reply(type: .array, hasAttribute: true))
    }

    @Test("commands as arrays and inline, pipelined; an empty line is a command that gets no reply")
    func commands() throws {
        let framed = Framed(Transcript("commands", client: ["*3\r\n$3\r\nSET\r\n$3\r\nk:1\r\n$5\r\nva\r\nl\r\nPING\r\nset  \"a b\"  'c\\'d' \"\\x41\\n\"\r\n\r\n*0\r\n"], server: []), as: .redis)
        #expect(framed.stop == nil)
        let commands = framed.side(.client).compactMap(\.redis?.command)
        #expect(commands.map(\.name) == ["SET", "PING", "SET", "", ""])
        #expect(commands[0].arguments.map { String(buffer: $0) } == ["k:1", "va\r\nl"])
        #expect(commands[2].arguments.map { String(buffer: $0) } == ["a b", "c'd", "A\n"])
        #expect(commands[2].isInline)
    }

    @Test("MULTI/EXEC and SELECT: queued replies pair one to one, and the context follows the database and the transaction")
    func transaction() throws {
        let transcript = try Transcript.fixture("redis-pipelined")
        let framed = Framed(transcript, as: .redis)
        #expect(framed.stop == nil)
        let exchanges = ExchangePairer.pair(framed.messages, protocol: .redis).compactMap(\.exchange)
        #expect(exchanges.map { RequestDescription.describe($0.requests) } == [
            "SELECT 2", "SET counter 10", "MULTI", "INCR counter", "GET counter", "EXEC", "LRANGE missing 0 -1", "GET nothing", "WRONGCMD",
        ])
        #expect(exchanges.map { $0.responses.count } == Array(repeating: 1, count: 9))
        #expect(exchanges[3].responses.first?.text == "+QUEUED\r\n")
        #expect(exchanges[5].responses.first?.redis?.replyType == .array)
        #expect(exchanges[0].context == .redis(database: 0, inTransaction: false))
        #expect(exchanges[1].context == .redis(database: 2, inTransaction: false))
        #expect(exchanges[3].context == .redis(database: 2, inTransaction: true))
        #expect(exchanges[6].context == .redis(database: 2, inTransaction: false))
        #expect(exchanges[8].responses.first?.redis?.replyType == .simpleError)
    }

    @Test("RESP2 pub/sub: one confirmation per channel, published messages answer nothing")
    func pubSub() throws {
        let framed = Framed(try Transcript.fixture("redis-pubsub-0"), as: .redis)
        let items = ExchangePairer.pair(framed.messages, protocol: .redis)
        try #require(items.count == 3)
        #expect(items[0].exchange?.responses.count == 2)
        let pushes = items.dropFirst().compactMap { item -> String? in
            guard case .unsolicited(let message) = item else { return nil }
            return RESPValue(parsing: message.raw)?.elements?.last?.string
        }
        #expect(pushes == ["hello subscribers", "disk full"])
    }

    @Test("RESP3 from a real server: HELLO's map, attributes, pushes for invalidation and subscription")
    func resp3Session() throws {
        let framed = Framed(try Transcript.fixture("redis-resp3"), as: .redis)
        #expect(framed.stop == nil)
        let items = ExchangePairer.pair(framed.messages, protocol: .redis)
        let exchanges = items.compactMap(\.exchange)
        #expect(exchanges.count == framed.side(.client).count)
        #expect(exchanges.allSatisfy { $0.responses.count == 1 })
        let unsolicited = items.compactMap { item -> String? in
            if case .unsolicited(let message) = item { return RESPValue(parsing: message.raw)?.elements?.first?.string }
            return nil
        }
        #expect(unsolicited == ["invalidate"])
        let subscribe = try #require(exchanges.first { $0.requests.first?.redis?.command?.name == "SUBSCRIBE" })
        #expect(subscribe.responses.first?.redis?.replyType == .push)
        #expect(exchanges.first?.responses.first?.redis?.replyType == .map)
    }

    @Test("CLIENT REPLY OFF and SKIP: the commands they silence pair with nothing")
    func clientReply() throws {
        let framed = Framed(Transcript("reply", client: ["CLIENT REPLY SKIP\r\nSET a 1\r\nGET a\r\nCLIENT REPLY OFF\r\nSET b 2\r\nCLIENT REPLY ON\r\nGET b\r\n"], server: ["$1\r\n1\r\n+OK\r\n$1\r\n2\r\n"]), as: .redis)
        let exchanges = ExchangePairer.pair(framed.messages, protocol: .redis).compactMap(\.exchange)
        #expect(exchanges.map(\.responses.count) == [0, 0, 1, 0, 0, 1, 1])
    }

    @Test(
        "bytes that are not RESP stop framing at the offending byte",
        arguments: [
            (Side.server, "+OK\r\n?what\r\n", 5),
            (Side.server, "$-2\r\n", 1),
            (Side.server, "$3\r\nabcd\r\n", 7),
            (Side.server, "*1\r\n$?\r\n", 4),
            (Side.server, ":12x\r\n", 1),
            (Side.server, "+OK\n", 3),
            (Side.client, "*2\r\n$3\r\nGET\r\n:1\r\n", 13),
            (Side.client, "*99999999999999999999\r\n", 1),
            (Side.client, "GET \"unbalanced\r\n", 0),
        ]
    )
    func failures(side: Side, bytes: String, offset: Int) throws {
        let framed = Framed(Transcript("bad", [.init(side: side, bytes: Array(bytes.utf8), time: .zero)]), as: .redis)
        let failure = try #require(framed.failure)
        #expect(failure.side == side)
        #expect(failure.offset == offset, "\(failure)")
    }

    @Test("deep nesting and absurd lengths are refused, not followed")
    func limits() throws {
        let deep = String(repeating: "*1\r\n", count: 100) + ":1\r\n"
        #expect(try #require(Framed(Transcript("deep", [.init(side: .server, bytes: Array(deep.utf8), time: .zero)]), as: .redis).failure).code == .overLimit)
        let huge = "$2000000000\r\nabc"
        #expect(try #require(Framed(Transcript("huge", [.init(side: .server, bytes: Array(huge.utf8), time: .zero)]), as: .redis).failure).code == .overLimit)
        let declared = "*1000000\r\n:1\r\n"
        let waiting = Framed(Transcript("declared", [.init(side: .server, bytes: Array(declared.utf8), time: .zero)]), as: .redis)
        #expect(waiting.stop == nil)
        #expect(waiting.side(.server).map(\.content) == [.truncated])
    }
}

@Suite("RESP framing where Redis itself refuses")
struct RESPRefusalTests {
    @Test("unbalanced quotes in an inline command: framing stops where Redis answered Protocol error")
    func unbalancedQuotes() throws {
        let framed = Framed(try Transcript.fixture("redis-inline"), as: .redis)
        let failure = try #require(framed.failure)
        #expect(failure.side == .client)
        #expect(framed.side(.client).first { $0.content == .turn }.map { $0.text.hasPrefix("ECHO 'it''s'") } == true)
        #expect(framed.side(.server).map(\.text).joined().contains("-ERR Protocol error: unbalanced quotes in request"))
        #expect(framed.side(.client).compactMap(\.redis?.command?.name) == ["PING", "SET", "GET", ""])
    }
}

@Suite("RESP2 subscribed mode")
struct RESPSubscribedModeTests {
    @Test("a message published between a PING and its pong answers nothing; the pong answers the PING")
    func messageBeforePong() {
        let framed = Framed(Transcript("subscribed", client: ["SUBSCRIBE news\r\n", "PING\r\n"], server: [
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        ]), as: .redis)
        let items = ExchangePairer.pair(framed.messages, protocol: .redis)
        #expect(items.map { $0.exchange?.responses.count ?? -1 } == [1, 1, -1])
        #expect(items[1].exchange?.responses.first.map { RESPValue(parsing: $0.raw)?.elements?.first?.string } == "pong")
    }
}
