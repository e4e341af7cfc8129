import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// A file TLS secrets are appended to in the NSS key log format
/// (`CLIENT_RANDOM …`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET …`), which Wireshark
/// and tshark read to decrypt a capture of the same connections.
///
/// Threading: safe from any event loop; each line is written whole.
public final class KeyLogFile: Sendable {
    public let path: String
    private let handle: NIOLockedValueBox<FileHandle>

    /// Opens `path` for appending, creating it readable by its owner alone.
    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw TLSError("cannot create the key log \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw TLSError("cannot open the key log \(path) for writing")
        }
        handle.seekToEndOfFile()
        self.path = path
        self.handle = NIOLockedValueBox(handle)
    }

    /// What NIOSSL calls with each secret's line (newline included).
    public var callback: NIOSSLKeyLogCallback {
        { [handle] line in
            let bytes = Data(line.readableBytesView)
            handle.withLockedValue { try? $0.write(contentsOf: bytes) }
        }
    }
}
