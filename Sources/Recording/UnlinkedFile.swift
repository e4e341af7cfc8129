#if canImport(Glibc)
import Glibc
#endif

/// Creates a file in `folder` and unlinks it at once: it lives as long as
/// the descriptor (gone with the process, even after a SIGKILL). Returns
/// the descriptor, or -1 with `errno` set.
package func openUnlinkedFile(in folder: String) -> Int32 {
    var template = Array((folder + "/.tapedeck-spill.XXXXXX").utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { return -1 }
    unlink(String(cString: template))
    return descriptor
}
