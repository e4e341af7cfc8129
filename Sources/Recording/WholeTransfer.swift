#if canImport(Glibc)
import Glibc
#endif

/// Repeats a read or write (`write`, `pwrite`, `pread`) until `count` bytes
/// have moved: `call` is given how many have so far and returns what the
/// system call returned. Retries on EINTR; returns 0 once all have moved,
/// else the errno that stopped it (EIO for a read or write of nothing: the
/// end of a file, a disk that took nothing).
package func transferWhole(_ count: Int, _ call: (_ done: Int) -> Int) -> Int32 {
    var done = 0
    while done < count {
        let moved = call(done)
        if moved < 0 && errno == EINTR { continue }
        guard moved > 0 else { return moved == 0 ? EIO : errno }
        done += moved
    }
    return 0
}
