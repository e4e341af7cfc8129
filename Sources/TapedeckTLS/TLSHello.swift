import NIOCore

/// What a client's first TLS message (ClientHello) asks for: the name it
/// means (SNI) and the application protocols it speaks (ALPN), in its order.
public struct ClientHello: Sendable, Hashable {
    public var serverName: String?
    public var applicationProtocols: [String]

    public init(serverName: String? = nil, applicationProtocols: [String] = []) {
        self.serverName = serverName
        self.applicationProtocols = applicationProtocols
    }
}

/// What a server's first TLS message (ServerHello) chose: the version and
/// the cipher suite, by their IANA numbers.
public struct ServerHello: Sendable, Hashable {
    public var version: UInt16
    public var cipherSuite: UInt16
}

/// How far reading a hello has got.
package enum HelloReading<Hello> {
    /// The bytes so far are the start of one: wait for more.
    case needMore
    /// The bytes are not TLS (a plaintext client on a TLS listener), with why.
    case notTLS(String)
    case hello(Hello)
}

/// Reads the first handshake message out of TLS records, without
/// consuming them: the proxy learns a client's SNI and ALPN before it
/// answers, and which cipher the server chose. Parsing only; no
/// cryptography happens here (the messages are plaintext in every version).
package enum TLSHelloParser {
    static let handshakeRecord: UInt8 = 22
    static let clientHelloType: UInt8 = 1
    static let serverHelloType: UInt8 = 2

    /// The body of the first handshake message of `type`, gathered from as
    /// many records as it spans.
    static func handshakeBody(_ bytes: ByteBuffer, type: UInt8) -> HelloReading<ByteBuffer> {
        var input = bytes
        var message = ByteBuffer()
        while true {
            guard let contentType = input.readInteger(as: UInt8.self) else { break }
            guard contentType == handshakeRecord else {
                return .notTLS("first bytes are not a TLS handshake (\(hex(contentType, digits: 2)))")
            }
            guard let major = input.readInteger(as: UInt8.self) else { break }
            guard major == 3 else { return .notTLS("first bytes are not a TLS record (version \(major))") }
            guard input.readInteger(as: UInt8.self) != nil, let length = input.readInteger(as: UInt16.self) else { break }
            guard var fragment = input.readSlice(length: Int(length)) else { break }
            message.writeBuffer(&fragment)
            var peek = message
            guard let handshakeType = peek.readInteger(as: UInt8.self), let high = peek.readInteger(as: UInt8.self),
                let low = peek.readInteger(as: UInt16.self)
            else { continue }
            guard handshakeType == type else { return .notTLS("first handshake message is of type \(handshakeType), not \(type)") }
            let bodyLength = Int(high) << 16 | Int(low)
            if let body = peek.readSlice(length: bodyLength) { return .hello(body) }
        }
        return .needMore
    }

    /// The SNI and ALPN of the ClientHello at the start of `bytes`.
    package static func clientHello(_ bytes: ByteBuffer) -> HelloReading<ClientHello> {
        hello(bytes, type: clientHelloType, named: "ClientHello", read: readClientHello)
    }

    /// The version and cipher of the ServerHello at the start of `bytes`.
    package static func serverHello(_ bytes: ByteBuffer) -> HelloReading<ServerHello> {
        hello(bytes, type: serverHelloType, named: "ServerHello", read: readServerHello)
    }

    /// The hello of handshake `type` at the start of `bytes`, read by `read`
    /// (nil: malformed).
    private static func hello<Hello>(
        _ bytes: ByteBuffer,
        type: UInt8,
        named name: String,
        read: (inout ByteBuffer) -> Hello?
    ) -> HelloReading<Hello> {
        switch handshakeBody(bytes, type: type) {
        case .needMore: return .needMore
        case .notTLS(let why): return .notTLS(why)
        case .hello(var body):
            guard let hello = read(&body) else { return .notTLS("malformed \(name)") }
            return .hello(hello)
        }
    }

    private static func readClientHello(_ body: inout ByteBuffer) -> ClientHello? {
        guard body.readInteger(as: UInt16.self) != nil, body.readSlice(length: 32) != nil,
            skipVector8(&body), let suites = body.readInteger(as: UInt16.self), body.readSlice(length: Int(suites)) != nil,
            skipVector8(&body)
        else { return nil }
        var hello = ClientHello()
        guard let extensionsLength = body.readInteger(as: UInt16.self) else { return hello }
        guard var extensions = body.readSlice(length: Int(extensionsLength)) else { return nil }
        while let type = extensions.readInteger(as: UInt16.self), let length = extensions.readInteger(as: UInt16.self) {
            guard var data = extensions.readSlice(length: Int(length)) else { return nil }
            switch type {
            case 0:  // server_name
                guard data.readInteger(as: UInt16.self) != nil else { return nil }
                while let nameType = data.readInteger(as: UInt8.self), let nameLength = data.readInteger(as: UInt16.self) {
                    guard let name = data.readString(length: Int(nameLength)) else { return nil }
                    if nameType == 0 { hello.serverName = name }
                }
            case 16:  // application_layer_protocol_negotiation
                guard data.readInteger(as: UInt16.self) != nil else { return nil }
                while let protocolLength = data.readInteger(as: UInt8.self) {
                    guard let name = data.readString(length: Int(protocolLength)) else { return nil }
                    hello.applicationProtocols.append(name)
                }
            default:
                break
            }
        }
        return hello
    }

    private static func readServerHello(_ body: inout ByteBuffer) -> ServerHello? {
        guard let legacyVersion = body.readInteger(as: UInt16.self), body.readSlice(length: 32) != nil,
            skipVector8(&body), let cipher = body.readInteger(as: UInt16.self), body.readInteger(as: UInt8.self) != nil
        else { return nil }
        var hello = ServerHello(version: legacyVersion, cipherSuite: cipher)
        guard let extensionsLength = body.readInteger(as: UInt16.self), var extensions = body.readSlice(length: Int(extensionsLength)) else {
            return hello
        }
        while let type = extensions.readInteger(as: UInt16.self), let length = extensions.readInteger(as: UInt16.self) {
            guard var data = extensions.readSlice(length: Int(length)) else { return nil }
            if type == 43, let selected = data.readInteger(as: UInt16.self) {  // supported_versions
                hello.version = selected
            }
        }
        return hello
    }

    private static func skipVector8(_ body: inout ByteBuffer) -> Bool {
        guard let length = body.readInteger(as: UInt8.self) else { return false }
        return body.readSlice(length: Int(length)) != nil
    }
}

extension ServerHello {
    /// `TLSv1.3`, `TLSv1.2`…, as OpenSSL and Wireshark name them.
    public var versionName: String {
        switch version {
        case 0x0304: "TLSv1.3"
        case 0x0303: "TLSv1.2"
        case 0x0302: "TLSv1.1"
        case 0x0301: "TLSv1"
        default: hex(version, digits: 4)
        }
    }

    /// The suite's IANA name (`TLS_AES_128_GCM_SHA256`), or its number in hex.
    public var cipherSuiteName: String {
        Self.cipherNames[cipherSuite] ?? hex(cipherSuite, digits: 4)
    }

    /// The suites BoringSSL offers by default.
    static let cipherNames: [UInt16: String] = [
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    ]
}

/// `0x0a`, `0x1301`: a number as TLS specifications write it.
func hex<Number: BinaryInteger>(_ value: Number, digits: Int) -> String {
    let text = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
}
