import NIOCore
import Protocols

extension Masks {
    /// The masks as request matching applies them (`replay serve --masks`,
    /// `MockServer.start(answering: .requests(RequestMatching(masking: …)))`):
    ///
    /// - masked tier (bytes): the named HTTP header fields are taken out of
    ///   a request's head (whether a client sends one does not count
    ///   either), and what client-side regexes match is replaced by one
    ///   placeholder;
    /// - key tier: the named query parameters are left out, the named JSON
    ///   fields are taken out of the body, and masked Redis arguments and
    ///   PostgreSQL parameters are replaced by one placeholder.
    public var requestMasking: RequestMasking {
        let set = MaskSet(self)
        let masksBytes = !set.headers.isEmpty || !set.client.isEmpty
        let masksKeys = !set.query.isEmpty || !set.json.isEmpty || !redis.arguments.isEmpty || !postgres.parameters.isEmpty
        let bytes: @Sendable (ByteBuffer) -> ByteBuffer = { ByteBuffer(bytes: set.maskedRequestBytes($0.readableBytesView)) }
        let key: @Sendable (ExchangeKey) -> ExchangeKey = { set.maskedKey($0) }
        return RequestMasking(bytes: masksBytes ? bytes : nil, key: masksKeys ? key : nil)
    }
}

extension MaskSet {
    /// What a masked argument or parameter is replaced with in a key.
    static let maskedValue = ByteBuffer(string: "\u{0}masked")

    /// A request's bytes without masked header fields (when they start with
    /// an HTTP request line), client regexes applied.
    func maskedRequestBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var bytes = Array(bytes)
        if !headers.isEmpty { bytes = removingHeaders(bytes) }
        return client.masked(bytes)
    }

    /// The head of an HTTP/1 request without the lines of masked header fields.
    private func removingHeaders(_ bytes: [UInt8]) -> [UInt8] {
        let lines = HeadLines(bytes)
        guard let requestLine = lines.first, requestLine.text.hasSuffix(" HTTP/1.1") || requestLine.text.hasSuffix(" HTTP/1.0") else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var end = 0
        for line in lines {
            end = line.bytes.endIndex + 2
            if let colon = line.bytes.firstIndex(of: UInt8(ascii: ":")),
                headers.contains(String(decoding: line.bytes[line.bytes.startIndex..<colon], as: UTF8.self).lowercased())
            {
                continue
            }
            out += line.bytes
            out += [0x0D, 0x0A]
        }
        return out + bytes[min(end, bytes.count)...]
    }

    func maskedKey(_ key: ExchangeKey) -> ExchangeKey {
        switch key {
        case .http(let method, let path, let parameters, let body):
            var body = body
            if !json.isEmpty, let value = JSONValue(parsing: body.readableBytesView) {
                body = ByteBuffer(bytes: value.removing(json).canonicalBytes)
            }
            return .http(method: method, path: path, query: parameters.filter { !query.contains($0.name) }, body: body)
        case .redis(let command, var arguments):
            for position in redisArguments[command] ?? [] where position <= arguments.count {
                arguments[position - 1] = Self.maskedValue
            }
            return .redis(command: command, arguments: arguments)
        case .postgres(.statements(let statements)):
            return .postgres(.statements(statements.map { statement in
                var statement = statement
                for index in statement.parameters.indices where masksParameter(index + 1, of: statement.text) {
                    statement.parameters[index] = Self.maskedValue
                }
                return statement
            }))
        case .postgres, .bytes:
            return key
        }
    }
}
