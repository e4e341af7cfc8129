
/// How a `Recorder` writes: one file (optionally rotated, tcpdump-style) or
/// one file per session, and what it does when the disk falls behind.
public struct RecorderConfiguration: Sendable {
    public enum Output: Sendable {
        /// All sessions in one recording at `path`, as a real capture.
        case file(path: String)
        /// One self-contained recording per session in `directory`, named
        /// with its start time and session id.
        case perSession(directory: String)
        /// All sessions as one pcap stream on standard output (`-w -`), for a
        /// reader such as `tshark -r -` or `wireshark -k -i -`; the manifest
        /// goes to `manifest`, or nowhere. Never rotated.
        case standardOutput(manifest: String?)
    }

    /// What to do when frames arrive faster than the disk takes them.
    public enum BacklogPolicy: String, Sendable, CaseIterable {
        /// Lossless: stop reading from the sockets until the queue drains.
        case backpressure
        /// Traffic untouched: drop the bytes from the recording, which then
        /// shows (and counts) a gap.
        case drop
    }

    public var output: Output
    /// Rotate once a file reaches this many bytes (`-C`).
    public var rotateBytes: Int64?
    /// Rotate once a file has been open this long (`-G`).
    public var rotateInterval: Duration?
    /// Keep only the newest N files of a rotated set (`-W`).
    public var ringSize: Int?
    /// Run `COMMAND FILE` through /bin/sh for every finished file (`-z`).
    public var postRotateCommand: String?
    /// Mask bytes matching any of these patterns (PCRE2 syntax, matched on
    /// bytes) with a same-length filler in the recording; a match that spans
    /// reads is masked when it is at most 4 KiB long. Patterns that can match
    /// the empty string are refused.
    public var redactPatterns: [String]
    public var backlogPolicy: BacklogPolicy
    /// Bytes of payload queued for the disk before the backlog policy applies.
    public var queueCapacity: Int
    public var flushInterval: Duration
    public var addressing: SyntheticAddressing
    /// Written into every manifest (fault plan, seed, …).
    public var properties: [String: String]

    public init(
        output: Output,
        rotateBytes: Int64? = nil,
        rotateInterval: Duration? = nil,
        ringSize: Int? = nil,
        postRotateCommand: String? = nil,
        redactPatterns: [String] = [],
        backlogPolicy: BacklogPolicy = .backpressure,
        queueCapacity: Int = 32 << 20,
        flushInterval: Duration = .milliseconds(100),
        addressing: SyntheticAddressing = SyntheticAddressing(),
        properties: [String: String] = [:]
    ) {
        self.output = output
        self.rotateBytes = rotateBytes
        self.rotateInterval = rotateInterval
        self.ringSize = ringSize
        self.postRotateCommand = postRotateCommand
        self.redactPatterns = redactPatterns
        self.backlogPolicy = backlogPolicy
        self.queueCapacity = queueCapacity
        self.flushInterval = flushInterval
        self.addressing = addressing
        self.properties = properties
    }

    var rotates: Bool {
        if case .standardOutput = output { return false }
        return rotateBytes != nil || rotateInterval != nil
    }
}
