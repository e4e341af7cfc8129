#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore

/// Why something failed, in the words a user of Tapedeck reads: the cause,
/// with no function name, errno number or Foundation error domain
/// (`address already in use`, not `bind(descriptor:ptr:bytes:): Address
/// already in use (errno: 98)`).
package enum PlainReason {
    /// The cause a system error number stands for.
    package static func errno(_ code: CInt) -> String {
        switch code {
        case EMFILE: outOfDescriptors
        case ENFILE: "the system is out of file descriptors"
        case EADDRINUSE: "address already in use"
        case EADDRNOTAVAIL: "the address is not one of this machine's"
        case EACCES: "permission denied"
        case EPERM: "operation not permitted"
        case ECONNREFUSED: "connection refused (nothing listens there)"
        case ECONNRESET: "connection reset by the peer"
        case ETIMEDOUT: "timed out"
        case ENETUNREACH: "network unreachable"
        case EHOSTUNREACH: "host unreachable"
        case ENOENT: "no such file or directory"
        case ENOTDIR: "a part of the path is not a directory"
        case EISDIR: "it is a directory"
        case EROFS: "the file system is read-only"
        case ENOSPC: "no space left on the device"
        case EDQUOT: "disk quota exceeded"
        case ENAMETOOLONG: "the path is too long"
        default: lowercasingFirst(String(cString: strerror(code)))
        }
    }

    /// Out of file descriptors, with this process's limit.
    package static var outOfDescriptors: String {
        guard let limit = fileDescriptorLimit else { return "out of file descriptors" }
        return "out of file descriptors (the limit is \(limit); raise it with ulimit -n)"
    }

    /// This process's limit on open file descriptors (RLIMIT_NOFILE), if it has one.
    package static var fileDescriptorLimit: UInt64? {
        var limit = rlimit()
        #if canImport(Darwin)
        let resource = RLIMIT_NOFILE
        #else
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }

    /// True for a system error saying this process (EMFILE) or the system
    /// (ENFILE) has no file descriptor left.
    package static func isOutOfDescriptors(_ error: Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return error.errnoCode == EMFILE || error.errnoCode == ENFILE
    }

    /// The cause of any error Tapedeck meets: a system error's errno in
    /// plain words, a Foundation file error by what it means, Tapedeck's
    /// own errors as they are.
    package static func of(_ error: Error) -> String {
        switch error {
        case let error as IOError:
            return errno(error.errnoCode)
        case SocketAddressError.unixDomainSocketPathTooLong:
            return "the path is longer than a Unix socket path may be (\(maximumUnixPathBytes) bytes)"
        case SocketAddressError.failedToParseIPString(let text):
            return "'\(text)' is not an IP address"
        case ChannelError.connectTimeout(let time):
            return "no answer within \(time.nanoseconds / 1_000_000) ms"
        case let error as POSIXError:
            return errno(error.code.rawValue)
        case let error as CocoaError:
            return cocoa(error)
        default:
            let bridged = error as NSError
            if bridged.domain == NSPOSIXErrorDomain { return errno(CInt(bridged.code)) }
            return "\(error)"
        }
    }

    /// The longest Unix socket path, in bytes (`sun_path` less its NUL).
    package static var maximumUnixPathBytes: Int {
        MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
    }

    private static func cocoa(_ error: CocoaError) -> String {
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return errno(CInt(underlying.code))
        }
        switch error.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteVolumeReadOnly: return "the file system is read-only"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteFileExists: return "a file of that name exists"
        case .fileReadCorruptFile: return "the file is damaged or not in the expected format"
        case .fileReadTooLarge: return "the file is too large"
        case .fileWriteInvalidFileName, .fileReadInvalidFileName: return "the file name is not valid"
        case .fileWriteUnknown: return "the file could not be written"
        case .fileReadUnknown: return "the file could not be read"
        default: return "the file operation failed"
        }
    }

    private static func lowercasingFirst(_ text: String) -> String {
        text.prefix(1).lowercased() + text.dropFirst()
    }
}
