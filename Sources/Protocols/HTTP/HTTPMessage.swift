import NIOCore

/// An HTTP/1.0 or 1.1 request or response, as framed from its bytes.
public struct HTTPMessage: Sendable, Hashable {
    public enum Start: Sendable, Hashable {
        case request(method: String, target: String)
        case response(status: Int, reason: String)
    }

    /// A header field, or (``ExchangeKey/QueryParameter``) a query parameter.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// How the message's body was delimited.
    public enum BodyFraming: Sendable, Hashable {
        case none
        case contentLength(Int)
        case chunked
        /// A response with neither length nor chunking: its body ran to the end of the connection.
        case untilClose
    }

    public var start: Start
    /// `HTTP/1.x`: 0 or 1.
    public var minorVersion: Int
    public var headers: [Field]
    /// Chunked trailer fields, if any.
    public var trailers: [Field]
    public var bodyFraming: BodyFraming
    /// The body's content: the bytes after the head, with chunked framing removed.
    public var body: ByteBuffer

    public init(start: Start, minorVersion: Int, headers: [Field], trailers: [Field] = [], bodyFraming: BodyFraming = .none, body: ByteBuffer = ByteBuffer()) {
        self.start = start
        self.minorVersion = minorVersion
        self.headers = headers
        self.trailers = trailers
        self.bodyFraming = bodyFraming
        self.body = body
    }

    /// Methods whose request line detection accepts as HTTP.
    static let detectedMethods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH", "PURGE",
    ]

    public var method: String? {
        if case .request(let method, _) = start { return method }
        return nil
    }

    public var target: String? {
        if case .request(_, let target) = start { return target }
        return nil
    }

    public var status: Int? {
        if case .response(let status, _) = start { return status }
        return nil
    }

    /// The first value of header `name` (compared case-insensitively).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every comma-separated element of every `name` header, trimmed and lowercased.
    public func headerTokens(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingASCIIWhitespace().lowercased() }
            .filter { !$0.isEmpty }
    }

    /// Whether the connection stays open after this message (RFC 9112 §9.3).
    public var keepsAlive: Bool {
        let connection = headerTokens("Connection")
        if connection.contains("close") { return false }
        return minorVersion >= 1 || connection.contains("keep-alive")
    }

    /// A request that asks to switch protocols (`Connection: upgrade` with an `Upgrade` header).
    public var requestsUpgrade: Bool {
        method != nil && headerTokens("Connection").contains("upgrade") && header("Upgrade") != nil
    }

    /// A status that is not the final answer to its request (1xx other than 101).
    public var isInterim: Bool {
        guard let status else { return false }
        return (100..<200).contains(status) && status != 101
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
