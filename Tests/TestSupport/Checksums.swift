import Crypto
import Foundation
import NIOCore
import Recording

public func sha256Hex(_ bytes: [UInt8]) -> String {
    hexString(SHA256.hash(data: bytes))
}

/// XXH3-64 as a recording's manifest carries it, by Tapedeck's own checksum.
public func xxh3Hex(_ bytes: [UInt8]) -> String {
    StreamChecksum.hex(.xxh3, of: ByteBuffer(bytes: bytes))
}

/// XXH3-64 by Debian's `xxhsum -H3`, a second implementation to check ours against.
public func xxhsumH3(_ bytes: [UInt8]) throws -> String {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.file("bytes")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let result = try ChildProcess.run("/usr/bin/xxhsum", ["-H3", path])
    // "XXH3 (PATH) = 16 hex digits"
    guard result.status == 0, let line = String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n").first,
          let digits = line.split(separator: " ").last
    else {
        throw ChildProcess.Failure(description: "xxhsum -H3 exited \(result.status): \(result.standardError)")
    }
    return String(digits)
}
