import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import TapedeckTLS

/// `tapedeck ca`'s authority: kept in a folder, read back, refusing to
/// replace itself, and issuing leaves that `openssl verify` accepts for the
/// names asked for.
struct LocalCATests {
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "/tapedeck-ca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func createdAuthorityReadsBackAndRefusesToBeReplaced() throws {
        let directory = try Self.temporaryDirectory() + "/ca"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try LocalCA.create(in: directory)
        let read = try LocalCA(directory: directory)
        #expect(read.certificatePEM == made.certificatePEM)
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory + "/ca.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        #expect(throws: TLSError.self) { try LocalCA.create(in: directory) }
    }

    @Test(arguments: [("api.example.test", "DNS:api.example.test"), ("10.1.2.3", "IP Address:10.1.2.3"), (nil, "IP Address:127.0.0.1")])
    func issuedLeavesVerifyWithOpenSSLForTheirName(name: String?, san: String) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try LocalCA()
        let issued = try authority.issuePEM(for: name)
        try authority.certificatePEM.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
        // The chain is leaf then CA: openssl x509 reads the first.
        try issued.certificatePEM.write(toFile: directory + "/leaf.pem", atomically: true, encoding: .utf8)
        let verified = try Self.openssl(["verify", "-CAfile", directory + "/ca.pem", "-purpose", "sslserver", directory + "/leaf.pem"])
        #expect(verified.status == 0, "\(verified.output)")
        let text = try Self.openssl(["x509", "-in", directory + "/leaf.pem", "-noout", "-text"]).output
        #expect(text.contains(san), "\(text)")
        // The same name gets the same certificate again.
        #expect(try authority.identity(for: name).chain == authority.identity(for: name).chain)
    }

    @Test func postgresAnswerSaysSToSSLRequestAndNToGSSENC() throws {
        let channel = EmbeddedChannel()
        let answer = PostgresSSLRequestAnswer(eventLoop: channel.eventLoop)
        try channel.pipeline.syncOperations.addHandler(answer)
        var gss = ByteBuffer()
        gss.writeInteger(UInt32(8))
        gss.writeInteger(PostgresSSLRequest.gssEncRequestCode)
        try channel.writeInbound(gss)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "N"))
        var request = PostgresSSLRequest.message
        request.writeString("\u{16}\u{03}\u{01}")
        try channel.writeInbound(request)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "S"))
        #expect(try answer.upgraded.wait() == true)
        // What came after the request (the start of a hello) is passed on.
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "\u{16}\u{03}\u{01}"))
    }
}
