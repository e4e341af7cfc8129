import Foundation
import TapedeckTLS

#if canImport(Glibc)
import Glibc
#endif

/// Certificates and TLS servers for the tests: a CA of the test's own, the
/// files a server needs, and Python's `ssl` HTTP server.
public struct TestCertificates: Sendable {
    public let authority: LocalCA
    /// The CA's certificate, to trust (`curl --cacert`, `--upstream-ca`).
    public let caFile: String
    /// A certificate for `localhost`, 127.0.0.1 and ::1, and its key.
    public let certificateFile: String
    public let keyFile: String

    /// Writes them into `directory` (`NAME-ca.pem`, `NAME.pem`, `NAME.key`).
    public init(in directory: TemporaryDirectory, name: String = "server") throws {
        authority = try LocalCA(commonName: "\(name) test CA")
        caFile = directory.file("\(name)-ca.pem")
        certificateFile = directory.file("\(name).pem")
        keyFile = directory.file("\(name).key")
        let issued = try authority.issuePEM(for: nil)
        try authority.certificatePEM.write(toFile: caFile, atomically: true, encoding: .utf8)
        try issued.certificatePEM.write(toFile: certificateFile, atomically: true, encoding: .utf8)
        try issued.keyPEM.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
    }
}

/// `python3`'s `http.server` over TLS (HTTP/1.1, ALPN `http/1.1`), serving a folder.
public enum HTTPSServer {
    static let script = """
        import functools, http.server, ssl, sys
        port, certificate, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        class Handler(http.server.SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=root))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        context.set_alpn_protocols(["http/1.1"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print("serving", flush=True)
        server.serve_forever()
        """

    /// Starts it on a free port serving `root`; returns once it accepts.
    public static func start(root: String, certificateFile: String, keyFile: String) throws -> (process: BackgroundProcess, port: UInt16) {
        let port = try freeLoopbackPort()
        let process = try BackgroundProcess("/usr/bin/env", ["python3", "-c", script, "\(port)", certificateFile, keyFile, root])
        // It prints once its socket listens.
        _ = try process.waitForLine(containing: "serving")
        return (process, port)
    }
}
