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

    private struct Report: Decodable {
        struct Sent: Decodable { var bytes: Int }
        var sessions: Int
        var sent: [Sent]
    }

    private static func decodingReason(_ json: String) -> String {
        do {
            _ = try JSONDecoder().decode(Report.self, from: Data(json.utf8))
            return "decoded"
        } catch {
            return plainDecodingReason(error)
        }
    }

    /// A user file that decodes wrong says which field, in JSON's terms.
    @Test func decodingErrorsNameTheField() {
        #expect(Self.decodingReason(#"{"sent": []}"#) == #""sessions" is missing"#)
        #expect(Self.decodingReason(#"{"sessions": "4", "sent": []}"#) == #""sessions" is not a number"#)
        #expect(Self.decodingReason(#"{"sessions": 4, "sent": [{"bytes": 1}, {"bytes": true}]}"#) == #""sent[1].bytes" is not a number"#)
        #expect(Self.decodingReason(#"{"sessions": null, "sent": []}"#) == #""sessions" is null, not a number"#)
        #expect(Self.decodingReason("[1, 2]") == "its top level is not an object")
        #expect(Self.decodingReason("{\"sessions\": ") == "not JSON")
        #expect(Self.decodingReason(#"{"sessions": 4, "sent": []}"#) == "decoded")
    }
}
