#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread as `top -H`, `ps -L` and `perf` show it (Linux
/// keeps 15 bytes of it). Foundation's `Thread.name` does not reach the
/// kernel on Linux, so a recorder's threads would all show as dispatch's.
package func nameCurrentThread(_ name: String) {
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    #endif
}
