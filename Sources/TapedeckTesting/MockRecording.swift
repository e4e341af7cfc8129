import Replay

/// What a ``MockServer`` serves: a recording's path, several paths read as
/// one recording, or sessions already loaded (`SessionScript.load`) or built
/// by hand.
public protocol MockRecording: Sendable {
    /// The sessions to serve; `filter` (BPF) applies to files as they are read.
    func sessionScripts(filter: String?) throws -> [SessionScript]
}

extension String: MockRecording {
    public func sessionScripts(filter: String?) throws -> [SessionScript] {
        try SessionScript.load(paths: [self], filter: filter)
    }
}

extension SessionScript: MockRecording {
    public func sessionScripts(filter: String?) throws -> [SessionScript] {
        [self]
    }
}

extension Array: MockRecording where Element: MockRecording {
    /// Paths are read as one recording (a session may run on from one
    /// rotated file into the next); anything else is the sessions of each
    /// element in turn.
    public func sessionScripts(filter: String?) throws -> [SessionScript] {
        if let paths = self as? [String] {
            return try SessionScript.load(paths: paths, filter: filter)
        }
        return try flatMap { try $0.sessionScripts(filter: filter) }
    }
}
