import Foundation
import NIOCore
import Recording
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Causes in the words a user reads: no function names, errno numbers or
/// Foundation error domains.
@Suite struct PlainReasonTests {
    @Test func systemErrorsSayTheCauseOnly() {
        let bind = IOError(errnoCode: EADDRINUSE, reason: "bind(descriptor:ptr:bytes:)")
        #expect(PlainReason.of(bind) == "address already in use")
        #expect(PlainReason.of(IOError(errnoCode: ECONNREFUSED, reason: "connect")) == "connection refused (nothing listens there)")
        #expect(PlainReason.of(SocketAddressError.unixDomainSocketPathTooLong) == "the path is longer than a Unix socket path may be (\(PlainReason.maximumUnixPathBytes) bytes)")
    }

    @Test func outOfDescriptorsSaysTheLimit() throws {
        let limit = try #require(PlainReason.fileDescriptorLimit)
        let error = IOError(errnoCode: EMFILE, reason: "socket")
        #expect(PlainReason.of(error) == "out of file descriptors (the limit is \(limit); raise it with ulimit -n)")
        #expect(PlainReason.isOutOfDescriptors(error))
        #expect(!PlainReason.isOutOfDescriptors(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
    }

    @Test func foundationFileErrorsSayWhatTheyMean() {
        // NSCocoaErrorDomain 642: what creating a directory on a read-only file system throws.
        #expect(PlainReason.of(CocoaError(.fileWriteVolumeReadOnly)) == "the file system is read-only")
        #expect(PlainReason.of(CocoaError(.fileWriteNoPermission)) == "permission denied")
        let underlying = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        #expect(PlainReason.of(CocoaError(.fileWriteUnknown, userInfo: [NSUnderlyingErrorKey: underlying])) == "no space left on the device")
        #expect(!PlainReason.of(CocoaError(.fileWriteUnknown)).contains("Domain"))
    }
}
