/// A failure of the pcap layer: what failed, on which file, and libpcap's own words.
public struct PcapError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// The file could not be opened or is not a capture libpcap can read.
        case open
        /// The BPF filter expression did not compile.
        case filter
        /// Reading failed part-way (garbage, a bogus record length).
        case read
        /// The file ends in the middle of a record: the packets before it were read.
        case truncated
        /// Writing, flushing or closing failed (disk full, I/O error).
        case write
        /// The file to create already exists, and was not to be replaced.
        case exists
    }

    public var code: Code
    public var path: String
    /// What went wrong, in one line (libpcap's text where it gave one).
    public var message: String
    /// The system's error number when a system call failed (`ENOSPC` for a
    /// full disk, `EIO`, `EFBIG` past a file size limit).
    public var errorNumber: Int32?

    public init(code: Code, path: String, message: String, errorNumber: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.errorNumber = errorNumber
    }

    /// `PATH: MESSAGE`, without repeating the path when libpcap's text starts with it.
    public var description: String {
        message.hasPrefix(path) ? message : "\(path): \(message)"
    }
}
