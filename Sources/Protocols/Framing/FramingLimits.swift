/// Bounds a framer keeps so that hostile or corrupt bytes cost bounded work.
///
/// Nothing is ever allocated from a declared length: a header that announces
/// a 2 GiB body makes the framer wait for 2 GiB of bytes, holding only those
/// that arrived. These limits turn absurd declarations into a ``FramingError``
/// (and so a fallback to generic turns) instead of an endless wait.
public struct FramingLimits: Sendable, Hashable {
    /// Longest HTTP request or status line plus headers, in bytes (NIOHTTP1's default).
    public var maximumHeadBytes: Int
    /// Longest line that is not an HTTP head: a RESP simple string, number or
    /// inline command, an HTTP chunk-size line. Redis allows 64 KiB inline.
    public var maximumLineBytes: Int
    /// Largest length one message may declare for itself or for one part:
    /// a RESP bulk string, a PostgreSQL message, an HTTP chunk. PostgreSQL and
    /// Redis both stop at 1 GiB or below.
    public var maximumDeclaredBytes: Int
    /// Deepest nesting of RESP aggregates.
    public var maximumNestingDepth: Int
    /// Most elements one RESP command may declare (Redis refuses more than 1,048,576).
    public var maximumCommandArguments: Int

    public init(
        maximumHeadBytes: Int = 80 * 1024,
        maximumLineBytes: Int = 64 * 1024,
        maximumDeclaredBytes: Int = 1 << 30,
        maximumNestingDepth: Int = 64,
        maximumCommandArguments: Int = 1 << 20
    ) {
        self.maximumHeadBytes = maximumHeadBytes
        self.maximumLineBytes = maximumLineBytes
        self.maximumDeclaredBytes = maximumDeclaredBytes
        self.maximumNestingDepth = maximumNestingDepth
        self.maximumCommandArguments = maximumCommandArguments
    }
}
