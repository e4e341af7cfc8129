import NIOCore
import NIOEmbedded
import NIOSSL
import Testing
@testable import TapedeckTLS

/// The hello parser read against BoringSSL's own hellos: a NIOSSL client's
/// ClientHello (SNI, ALPN) and a NIOSSL server's ServerHello (version,
/// cipher), taken off `EmbeddedChannel`s.
struct TLSHelloParserTests {
    static func handshake(alpn: [String], serverName: String?) throws -> (clientHello: ByteBuffer, serverHello: ByteBuffer) {
        let authority = try LocalCA()
        let identity = try authority.identity(for: "example.test")
        var clientConfiguration = TLSConfiguration.makeClientConfiguration()
        clientConfiguration.certificateVerification = .none
        clientConfiguration.applicationProtocols = alpn
        var serverConfiguration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.chain.map { .certificate($0) }, privateKey: .privateKey(identity.key)
        )
        serverConfiguration.applicationProtocols = alpn
        let client = EmbeddedChannel()
        let server = EmbeddedChannel()
        try client.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: try NIOSSLContext(configuration: clientConfiguration), serverHostname: serverName)
        )
        try server.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: try NIOSSLContext(configuration: serverConfiguration)))
        client.pipeline.fireChannelActive()
        server.pipeline.fireChannelActive()
        let clientHello = try #require(try client.readOutbound(as: ByteBuffer.self))
        try server.writeInbound(clientHello)
        var serverHello = try #require(try server.readOutbound(as: ByteBuffer.self))
        while var more = try server.readOutbound(as: ByteBuffer.self) { serverHello.writeBuffer(&more) }
        return (clientHello, serverHello)
    }

    @Test func clientHelloGivesSNIAndALPNInOrder() throws {
        let (clientHello, _) = try Self.handshake(alpn: ["h2", "http/1.1"], serverName: "api.example.test")
        guard case .hello(let hello) = TLSHelloParser.clientHello(clientHello) else {
            Issue.record("no hello parsed")
            return
        }
        #expect(hello == ClientHello(serverName: "api.example.test", applicationProtocols: ["h2", "http/1.1"]))
    }

    @Test func aHelloCutShortNeedsMoreAndPlaintextIsNotTLS() throws {
        let (clientHello, _) = try Self.handshake(alpn: [], serverName: nil)
        for cut in [1, 5, 40, clientHello.readableBytes - 1] {
            let prefix = clientHello.getSlice(at: clientHello.readerIndex, length: cut)!
            guard case .needMore = TLSHelloParser.clientHello(prefix) else {
                Issue.record("a hello cut at \(cut) bytes must need more")
                continue
            }
        }
        guard case .hello(let whole) = TLSHelloParser.clientHello(clientHello) else {
            Issue.record("no hello parsed")
            return
        }
        #expect(whole == ClientHello())
        guard case .notTLS(let why) = TLSHelloParser.clientHello(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")) else {
            Issue.record("HTTP is not TLS")
            return
        }
        #expect(why.contains("0x47"))
    }

    @Test func serverHelloGivesTLS13AndItsCipher() throws {
        let (_, serverHello) = try Self.handshake(alpn: ["http/1.1"], serverName: "example.test")
        guard case .hello(let hello) = TLSHelloParser.serverHello(serverHello) else {
            Issue.record("no ServerHello parsed")
            return
        }
        #expect(hello.versionName == "TLSv1.3")
        #expect(["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].contains(hello.cipherSuiteName))
    }
}
