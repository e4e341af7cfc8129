#if os(Linux)
import CSplice
import Glibc

/// A non-blocking pipe one direction of a spliced session moves its bytes through.
struct SplicePipe {
    let output: CInt
    let input: CInt
    /// Bytes it holds at most.
    let capacity: Int

    /// Asked of each pipe: enough for a 64 KiB segment train per wake-up,
    /// within an unprivileged user's default pipe budget for many sessions.
    static let requestedCapacity: CInt = 1 << 20
    /// Empty pipes a worker keeps for the next sessions.
    static let spareLimit = 64

    static func make() -> SplicePipe? {
        var fds: [CInt] = [-1, -1]
        let capacity = csplice_pipe(&fds, requestedCapacity)
        guard capacity > 0 else { return nil }
        return SplicePipe(output: fds[0], input: fds[1], capacity: Int(capacity))
    }

    /// Reads out every byte the pipe holds (it is left empty).
    func drain() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress, $0.count) }
            if read > 0 {
                bytes += buffer[0..<read]
            } else if read < 0, errno == EINTR {
                continue
            } else {
                return bytes
            }
        }
    }

    func close() {
        _ = Glibc.close(output)
        _ = Glibc.close(input)
    }
}
#endif
