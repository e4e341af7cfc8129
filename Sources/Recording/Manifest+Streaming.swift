import Foundation

extension Manifest {
    /// A session as the manifest's `sessions` array holds it: pretty JSON,
    /// indented for its place, as `write(to:)` writes it.
    package static func sessionText(_ summary: SessionSummary) throws -> [UInt8] {
        try PrettyJSON.nested(summary, depth: 2)
    }

    /// Writes the manifest to `path` with mode 0600, atomically, taking its
    /// `count` sessions one at a time from `sessionTexts` (each made by
    /// `sessionText(_:)`, in index order) instead of from `sessions`: the
    /// manifest of a recording with more sessions than memory should hold.
    /// The file is byte for byte what `write(to:)` writes.
    package func write(to path: String, count: Int, sessionTexts: ((([UInt8]) throws -> Void) throws -> Void)) throws {
        var frame = self
        frame.sessions = []
        guard count > 0 else {
            try frame.write(to: path)
            return
        }
        let whole = String(decoding: try PrettyJSON.encoder.encode(frame), as: UTF8.self)
        // The top-level key sorts after `properties` and `redact`: the last match is it.
        guard let empty = whole.range(of: #""sessions" : \[\s*\]"#, options: [.regularExpression, .backwards]) else {
            throw ManifestError(path: path, reason: "the manifest has no sessions array", writing: true)
        }
        let head = whole[..<empty.lowerBound] + "\"sessions\" : [\n"
        let tail = "\n  ]" + whole[empty.upperBound...]
        do {
            try PrivateFile.write(to: path) { nonEscapingAdd in
                try withoutActuallyEscaping(nonEscapingAdd) { add in
                    var buffer = Data(head.utf8)
                    var first = true
                    try sessionTexts { text in
                        if !first { buffer.append(contentsOf: ",\n".utf8) }
                        first = false
                        buffer.append(contentsOf: text)
                        if buffer.count >= 1 << 20 {
                            try add(buffer)
                            buffer.removeAll(keepingCapacity: true)
                        }
                    }
                    buffer.append(contentsOf: tail.utf8)
                    try add(buffer)
                }
            }
        } catch let error as PrivateFileError {
            throw ManifestError(path: path, reason: String(cString: strerror(error.code)), writing: true)
        }
    }
}
