import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Bytes set aside in an unlinked temporary file (gone with the process,
/// even after a SIGKILL) and read back by position: what keeps a large
/// capture's payloads on disk while a catalog of them stays in memory.
///
/// Filled once through a `Writer`, then only read. Threading: reads may come
/// from any thread at once (`pread`).
package final class PayloadStore: Sendable {
    private let descriptor: Int32
    package let folder: String

    /// Opens the unlinked file in `folder`; only a `Writer` makes a store.
    fileprivate init(in folder: String) throws(PayloadStoreError) {
        let opened = openUnlinkedFile(in: folder)
        guard opened >= 0 else { throw PayloadStoreError(folder: folder, code: errno, writing: true) }
        descriptor = opened
        self.folder = folder
    }

    deinit { close(descriptor) }

    /// `count` bytes from `location`, appended to `buffer`.
    package func read(at location: Int64, count: Int, into buffer: inout ByteBuffer) throws(PayloadStoreError) {
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
            failure = transferWhole(count) { done in pread(descriptor, bytes.baseAddress! + done, count - done, off_t(location) + off_t(done)) }
            return failure == 0 ? count : 0
        }
        if failure != 0 { throw PayloadStoreError(folder: folder, code: failure, writing: false) }
    }

    /// Appends bytes to a new store, a megabyte at a time.
    package struct Writer {
        package let store: PayloadStore
        private var pending: [UInt8] = []
        /// Bytes in the file so far (where `pending` starts).
        private var written: Int64 = 0
        static let flushSize = 1 << 20

        /// Opens the file in `folder` (`$TMPDIR` by default, else /tmp).
        package init(folder: String = SpillStream.temporaryFolder) throws(PayloadStoreError) {
            store = try PayloadStore(in: folder)
            pending.reserveCapacity(Self.flushSize)
        }

        /// Stores the readable bytes of `buffer`; returns where they lie.
        package mutating func append(_ buffer: ByteBuffer) throws(PayloadStoreError) -> Int64 {
            let location = written + Int64(pending.count)
            pending.append(contentsOf: buffer.readableBytesView)
            if pending.count >= Self.flushSize { try flush() }
            return location
        }

        /// Writes what is still in memory; the store is then complete.
        package mutating func flush() throws(PayloadStoreError) {
            let descriptor = store.descriptor
            let offset = written
            let failure = pending.withUnsafeBytes { bytes in
                transferWhole(bytes.count) { done in pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            }
            if failure != 0 { throw PayloadStoreError(folder: store.folder, code: failure, writing: true) }
            written += Int64(pending.count)
            pending.removeAll(keepingCapacity: true)
        }
    }
}

/// The temporary file a capture's bytes are set aside in could not be
/// created, written (a full disk) or read back.
package struct PayloadStoreError: Error, CustomStringConvertible {
    package var folder: String
    package var code: Int32
    package var writing: Bool

    package var description: String {
        writing
            ? "cannot set the capture's bytes aside in a temporary file in \(folder): \(PlainReason.errno(code)); point TMPDIR at a folder with room for them"
            : "cannot read back the capture's bytes set aside in \(folder): \(PlainReason.errno(code))"
    }
}
