import NIOCore

/// Frames HTTP/1.0 and 1.1: requests from the client, responses from the
/// server, with pipelining, keep-alive, bodies by Content-Length and chunked
/// coding, bodiless responses (HEAD, CONNECT, 1xx, 204, 304), interim 1xx
/// responses, and an upgrade (101, or 2xx to CONNECT) after which the rest of
/// the connection is opaque.
///
/// Written by hand rather than on NIOHTTP1: its `HTTPDecoder` is a
/// `ByteToMessageDecoder` that only delivers through a `ChannelHandlerContext`
/// (it is not a `NIOSingleStepByteToMessageDecoder`, so it needs a channel),
/// it reports heads, body slices and ends but never where a message's bytes
/// end (`.end` carries no offset, and it consumes whole buffers), its errors
/// carry no offset, and llhttp itself is not a product SwiftNIO exports.
/// Cutting exact raw messages is the whole job here, and the syntax needed
/// for that is small: this framer is proven against fixtures, every chunking,
/// and fuzzing in `ProtocolsTests`.
///
/// A response's framing depends on its request's method, so server bytes
/// wait for the client's request to be framed; client bytes after a request
/// that asks for an upgrade (or CONNECT) wait for the server's answer.
public struct HTTPFramer: MessageFramer, InterdependentSides {
    private enum Phase: Sendable {
        case head(HTTPHeadScanner)
        case body(Framing)
        /// A response head whose request has not been framed yet.
        case awaitingRequest(HTTPMessage, headLength: Int)
    }

    private enum BodyProgress: Sendable {
        case length(end: Int)
        case chunked(HTTPChunkedBody)
        case untilClose
    }

    /// A message whose head is parsed and whose body is being read.
    private struct Framing: Sendable {
        /// The head, its `bodyFraming` set.
        var head: HTTPMessage
        var headLength: Int
        var progress: BodyProgress
        /// A 101, or a 2xx answer to CONNECT: the connection is opaque after it.
        var switchesProtocols = false
    }

    /// A framed request the server has not answered yet.
    private struct Outstanding: Sendable {
        var method: String
        var holdsClient: Bool
    }

    public let limits: FramingLimits
    var streams = StreamPair()
    private var clientPhase = Phase.head(HTTPHeadScanner(kind: .request))
    private var serverPhase = Phase.head(HTTPHeadScanner(kind: .response))
    private var outstanding: [Outstanding] = []
    /// The client sent an upgrade or CONNECT request; its bytes wait for the answer.
    private var clientHeld = false
    /// `finish()` was called: requests are no longer waited for.
    var finishing = false
    public private(set) var stop: FramerStop?

    public init(limits: FramingLimits = FramingLimits()) {
        self.limits = limits
    }

    public mutating func finish() -> [Message] {
        clientHeld = false
        var messages = pumpFinishing()
        guard stop == nil else { return messages }
        if case .body(let framing) = serverPhase, case .untilClose = framing.progress, !streams[.server].isEmpty {
            messages.append(complete(framing, length: streams[.server].count, from: .server))
            serverPhase = .head(HTTPHeadScanner(kind: .response))
        }
        return messages + streams.takeAll(as: .truncated)
    }

    func canFrame(_ side: Side) -> Bool {
        side == .server || !clientHeld
    }

    /// The next whole message from `side`, if its bytes (and what it depends on) have arrived.
    mutating func next(_ side: Side) -> Message? {
        let messageOffset = streams[side].offset
        do {
            return try nextMessage(side)
        } catch {
            stop = .failed(error.error(.http, side: side, messageOffset: messageOffset))
            return nil
        }
    }

    private mutating func nextMessage(_ side: Side) throws(FramingFailure) -> Message? {
        var phase = side == .client ? clientPhase : serverPhase
        defer {
            if side == .client { clientPhase = phase } else { serverPhase = phase }
        }
        let buffer = streams[side]
        while true {
            switch phase {
            case .head(var scanner):
                guard let headLength = try scanner.scan(buffer, limits: limits) else {
                    phase = .head(scanner)
                    return nil
                }
                let head = try HTTPHeadScanner.parse(buffer.slice(0..<headLength), kind: scanner.kind)
                phase = side == .client
                    ? .body(try requestBody(head, headLength: headLength))
                    : .awaitingRequest(head, headLength: headLength)
            case .awaitingRequest(let head, let headLength):
                if head.isInterim {
                    phase = .body(Framing(head: head, headLength: headLength, progress: .length(end: headLength)))
                    continue
                }
                guard let request = outstanding.first ?? (finishing ? Outstanding(method: "GET", holdsClient: false) : nil) else {
                    return nil
                }
                if !outstanding.isEmpty { outstanding.removeFirst() }
                phase = .body(try responseBody(head, headLength: headLength, method: request.method))
                if request.holdsClient { clientHeld = false }
            case .body(var framing):
                let end: Int
                switch framing.progress {
                case .length(let length):
                    guard buffer.count >= length else { return nil }
                    end = length
                case .chunked(var body):
                    guard let bodyEnd = try body.advance(buffer, limits: limits) else {
                        framing.progress = .chunked(body)
                        phase = .body(framing)
                        return nil
                    }
                    phase = .head(HTTPHeadScanner(kind: side == .client ? .request : .response))
                    var message = complete(framing, length: bodyEnd, from: side)
                    if case .http(var framed) = message.content {
                        framed.body = body.content(of: message.raw)
                        framed.trailers = body.trailers
                        message.content = .http(framed)
                    }
                    return message
                case .untilClose:
                    return nil
                }
                phase = .head(HTTPHeadScanner(kind: side == .client ? .request : .response))
                return complete(framing, length: end, from: side)
            }
        }
    }

    /// Cuts a whole message off `side`'s buffer, and notes what it means for the connection.
    private mutating func complete(_ framing: Framing, length: Int, from side: Side) -> Message {
        let cut = streams.take(length, from: side)
        let head = framing.head
        var message = head
        if head.bodyFraming != .chunked {
            message.body = cut.raw.getSlice(at: cut.raw.readerIndex + framing.headLength, length: length - framing.headLength) ?? ByteBuffer()
        }
        if side == .client, let method = head.method {
            let holds = head.requestsUpgrade || method == "CONNECT"
            outstanding.append(Outstanding(method: method, holdsClient: holds))
            if holds, !finishing { clientHeld = true }
        }
        if framing.switchesProtocols { stop = .opaque(.upgraded) }
        return Message(side: side, cut, content: .http(message))
    }

    private func requestBody(_ head: HTTPMessage, headLength: Int) throws(FramingFailure) -> Framing {
        if !head.headerTokens("Transfer-Encoding").isEmpty {
            guard head.headerTokens("Transfer-Encoding").last == "chunked" else {
                throw FramingFailure(.malformed, at: 0, "request Transfer-Encoding does not end in chunked")
            }
            return Framing(head: head.framed(.chunked), headLength: headLength, progress: .chunked(HTTPChunkedBody(bodyStart: headLength)))
        }
        return try lengthFraming(head, headLength: headLength, otherwise: .none)
    }

    private func responseBody(_ head: HTTPMessage, headLength: Int, method: String) throws(FramingFailure) -> Framing {
        let status = head.status ?? 0
        let connected = method == "CONNECT" && (200..<300).contains(status)
        if method == "HEAD" || connected || (100..<200).contains(status) || status == 204 || status == 304 {
            return Framing(head: head, headLength: headLength, progress: .length(end: headLength), switchesProtocols: connected || status == 101)
        }
        if !head.headerTokens("Transfer-Encoding").isEmpty {
            guard head.headerTokens("Transfer-Encoding").last == "chunked" else {
                return Framing(head: head.framed(.untilClose), headLength: headLength, progress: .untilClose)
            }
            return Framing(head: head.framed(.chunked), headLength: headLength, progress: .chunked(HTTPChunkedBody(bodyStart: headLength)))
        }
        return try lengthFraming(head, headLength: headLength, otherwise: .untilClose)
    }

    /// Framing by Content-Length, or `otherwise` (none for a request, until close for a response) without one.
    private func lengthFraming(_ head: HTTPMessage, headLength: Int, otherwise: HTTPMessage.BodyFraming) throws(FramingFailure) -> Framing {
        guard let length = try contentLength(head) else {
            let progress: BodyProgress = otherwise == .untilClose ? .untilClose : .length(end: headLength)
            return Framing(head: head.framed(otherwise), headLength: headLength, progress: progress)
        }
        return Framing(head: head.framed(length == 0 ? .none : .contentLength(length)), headLength: headLength, progress: .length(end: headLength + length))
    }

    /// The Content-Length, when present; repeated values must agree (RFC 9110 §8.6).
    private func contentLength(_ head: HTTPMessage) throws(FramingFailure) -> Int? {
        let values = head.headerTokens("Content-Length")
        guard let first = values.first else { return nil }
        guard values.allSatisfy({ $0 == first }) else { throw FramingFailure(.malformed, at: 0, "conflicting Content-Length values") }
        guard first.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw FramingFailure(.malformed, at: 0, "Content-Length \(first) is not a number")
        }
        guard first.count <= 18, let length = Int(first) else { throw FramingFailure(.overLimit, at: 0, "Content-Length \(first) overflows") }
        return length
    }
}

extension HTTPMessage {
    fileprivate func framed(_ framing: BodyFraming) -> HTTPMessage {
        var message = self
        message.bodyFraming = framing
        return message
    }
}
