/// One side of a session: an IP address and port, a host name and port, or
/// a Unix socket path.
///
/// Written one way everywhere: `HOST:PORT`, `[IPv6]:PORT`, `:PORT`
/// (loopback) and `unix:/path/to.sock`.
public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
    case ip(IPAddress, port: UInt16)
    /// A host name (`api.internal`, `localhost`), resolved when connecting.
    /// Sessions and recordings never hold one: they hold the address
    /// actually connected to.
    case host(String, port: UInt16)
    case unix(path: String)

    /// Parses the textual form; a host name is kept as written (`.host`),
    /// not resolved here. An empty host means 127.0.0.1.
    public init(parsing text: String) throws(EndpointParseError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw EndpointParseError(text: text, reason: "a Unix socket path is missing after 'unix:'") }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw EndpointParseError(text: text, reason: "an IPv6 address must be closed with ']'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw EndpointParseError(text: text, reason: "expected ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw EndpointParseError(text: text, reason: "expected HOST:PORT, [IPv6]:PORT, :PORT or unix:/path")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw EndpointParseError(text: text, reason: "an IPv6 address needs brackets: [\(host)]:\(portText)")
            }
        }
        guard let port = UInt16(portText) else {
            throw EndpointParseError(text: text, reason: "'\(portText)' is not a port number (0-65535)")
        }
        if host.isEmpty {
            self = .ip(.loopbackV4, port: port)
        } else if let address = IPAddress(String(host)) {
            self = .ip(address, port: port)
        } else if Self.isHostName(host) {
            self = .host(host.lowercased(), port: port)
        } else {
            throw EndpointParseError(text: text, reason: "'\(host)' is neither an IP address nor a host name")
        }
    }

    /// Letters, digits, '-', '_' and '.', as DNS and /etc/hosts names are written.
    private static func isHostName(_ text: Substring) -> Bool {
        text.utf8.count <= 253 && !text.hasPrefix(".") && !text.hasPrefix("-") && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar))
        }
    }

    public var port: UInt16? {
        switch self {
        case .ip(_, let port), .host(_, let port): return port
        case .unix: return nil
        }
    }

    public var description: String {
        switch self {
        case .ip(let address, let port):
            return address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        case .host(let name, let port):
            return "\(name):\(port)"
        case .unix(let path):
            return "unix:\(path)"
        }
    }
}

public struct EndpointParseError: Error, CustomStringConvertible, Sendable {
    public var text: String
    public var reason: String
    public var description: String { "invalid endpoint '\(text)': \(reason)" }
}

extension Endpoint: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Endpoint(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
