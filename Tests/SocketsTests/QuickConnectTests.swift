import Foundation
import NIOCore
import NIOPosix
import Recording
import Sockets
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Connections made by hand when they complete at once: on loopback and
/// Unix sockets they do, a refusal is known there and then, and anything
/// else is left to NIO's connect.
@Suite struct QuickConnectTests {
    /// A listening socket the test accepts on itself (blocking: the
    /// connections it takes are already queued).
    struct Listener {
        let descriptor: CInt
        let address: SocketAddress

        init(_ address: SocketAddress, listening: Bool = true) throws {
            let fd = socket(CInt(address.protocol.rawValue), CInt(SOCK_STREAM.rawValue), 0)
            guard address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) == 0 else {
                throw Failure(description: "bind: \(String(cString: strerror(errno)))")
            }
            if listening { listen(fd, 16) }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            var bound = address
            if case .unixDomainSocket = address {} else {
                bound.port = Int(withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) })
            }
            self.descriptor = fd
            self.address = bound
        }

        func accept() -> CInt { Glibc.accept(descriptor, nil, nil) }
        func close() { _ = Glibc.close(descriptor) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    @Test func aLoopbackListenerIsConnectedAtOnce() throws {
        let listener = try Listener(try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        defer { listener.close() }

        guard case .connected(let descriptor) = QuickConnect.attempt(listener.address) else {
            Issue.record("not connected at once")
            return
        }
        defer { close(descriptor) }
        let accepted = listener.accept()
        defer { close(accepted) }
        #expect(write(descriptor, "hi", 2) == 2)
        var buffer = [UInt8](repeating: 0, count: 2)
        #expect(read(accepted, &buffer, 2) == 2)
        #expect(buffer == Array("hi".utf8))
    }

    @Test func aUnixListenerIsConnectedAtOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let listener = try Listener(try SocketAddress(unixDomainSocketPath: directory.file("quick.sock")))
        defer { listener.close() }

        guard case .connected(let descriptor) = QuickConnect.attempt(listener.address) else {
            Issue.record("not connected at once")
            return
        }
        close(descriptor)
        close(listener.accept())
    }

    @Test func aRefusalIsKnownAtOnce() throws {
        // A port bound but not listening refuses.
        let holder = try Listener(try SocketAddress(ipAddress: "127.0.0.1", port: 0), listening: false)
        defer { holder.close() }

        guard case .failed(let error) = QuickConnect.attempt(holder.address) else {
            Issue.record("a refusal was not reported")
            return
        }
        #expect(error.errnoCode == ECONNREFUSED)
        #expect(PlainReason.of(error) == "connection refused (nothing listens there)")
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("127.8.9.10", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("10.0.0.1", false), ("192.0.2.1", false), ("::2", false), ("2001:db8::1", false), ("::ffff:10.0.0.1", false),
    ])
    func loopbackIsToldApart(address: String, loopback: Bool) throws {
        #expect(QuickConnect.isLoopback(try SocketAddress(ipAddress: address, port: 80)) == loopback)
    }

    @Test func anotherMachineIsLeftToNIO() throws {
        guard case .notQuick = QuickConnect.attempt(try SocketAddress(ipAddress: "192.0.2.1", port: 80)) else {
            Issue.record("a documentation address was connected by hand")
            return
        }
    }
}
