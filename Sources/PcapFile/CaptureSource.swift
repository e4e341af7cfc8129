import CCompression
import CLibPCAP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A capture libpcap cannot open by name: standard input (`-`), or a file
/// compressed with gzip (`.pcap.gz`, several members too) or zstd
/// (`.pcap.zst`). Its bytes are decompressed as libpcap reads them, through a
/// stdio stream of its own, so a capture is read once, front to back, and
/// never lands on disk decompressed.
final class CaptureSource {
    enum Compression: String {
        case none, gzip, zstd
    }

    /// Why the bytes stopped early: libpcap only sees them end.
    struct Failure {
        var code: PcapError.Code
        var message: String
    }

    let compression: Compression
    /// Compressed bytes taken from the file so far (for progress).
    private(set) var bytesRead: Int64 = 0
    private(set) var failure: Failure?
    /// The first decompressed bytes (up to 4: the capture's magic number).
    private(set) var leadingBytes: [UInt8] = []

    private let descriptor: Int32
    private var input: [UInt8]
    private var inputStart = 0
    private var endOfInput = false
    private var gzip: UnsafeMutablePointer<z_stream>?
    private var zstd: OpaquePointer?
    /// Inside a gzip member or zstd frame: its end has not been seen yet.
    private var insideFrame = false

    private static let bufferSize = 64 << 10

    /// The source for `path`, or nil for a plain file libpcap reads by name
    /// itself (a file that cannot be opened is left to libpcap to report too).
    static func source(for path: String, name: String) throws(PcapError) -> CaptureSource? {
        let descriptor = path == "-" ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if path == "-" { throw PcapError(code: .open, path: name, message: "cannot read: \(String(cString: strerror(errno)))") }
            return nil
        }
        var magic: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4)
        while magic.count < 4 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4 - magic.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            magic += chunk.prefix(count)
        }
        let compression: Compression = if magic.starts(with: [0x1f, 0x8b]) {
            .gzip
        } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
            .zstd
        } else {
            .none
        }
        if compression == .none, path != "-" {
            close(descriptor)
            return nil
        }
        return try CaptureSource(descriptor: descriptor, compression: compression, prefix: magic, name: name)
    }

    private init(descriptor: Int32, compression: Compression, prefix: [UInt8], name: String) throws(PcapError) {
        self.descriptor = descriptor
        self.compression = compression
        input = prefix
        bytesRead = Int64(prefix.count)
        switch compression {
        case .none:
            break
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 16: a gzip header and trailer around deflate data.
            guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                close(descriptor)
                throw PcapError(code: .open, path: name, message: "cannot start gzip decompression")
            }
            gzip = stream
        case .zstd:
            guard let stream = ZSTD_createDStream(), ZSTD_isError(ZSTD_initDStream(stream)) == 0 else {
                close(descriptor)
                throw PcapError(code: .open, path: name, message: "cannot start zstd decompression")
            }
            zstd = stream
        }
    }

    deinit {
        if let gzip {
            inflateEnd(gzip)
            gzip.deallocate()
        }
        if let zstd { ZSTD_freeDStream(zstd) }
        close(descriptor)
    }

    /// A stdio stream of the decompressed bytes for `pcap_fopen_offline`;
    /// it keeps the source alive until it is closed.
    func makeStream() -> UnsafeMutablePointer<FILE>? {
        let cookie = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Glibc)
        let functions = tapedeck_cookie_functions(
            read: { cookie, buffer, size in
                guard let cookie, let buffer else { return -1 }
                let source = Unmanaged<CaptureSource>.fromOpaque(cookie).takeUnretainedValue()
                return source.fill(UnsafeMutableRawBufferPointer(start: buffer, count: size))
            },
            write: nil,
            seek: nil,
            close: { cookie in
                if let cookie { Unmanaged<CaptureSource>.fromOpaque(cookie).release() }
                return 0
            }
        )
        let stream = tapedeck_fopencookie(cookie, "r", functions)
        #else
        let stream = funopen(cookie, { cookie, buffer, size in
            guard let cookie, let buffer else { return -1 }
            let source = Unmanaged<CaptureSource>.fromOpaque(cookie).takeUnretainedValue()
            return Int32(source.fill(UnsafeMutableRawBufferPointer(start: buffer, count: Int(size))))
        }, nil, nil, { cookie in
            if let cookie { Unmanaged<CaptureSource>.fromOpaque(cookie).release() }
            return 0
        })
        #endif
        if stream == nil { Unmanaged<CaptureSource>.fromOpaque(cookie).release() }
        return stream
    }

    /// Fills `output` with the next decompressed bytes: their count, 0 at
    /// the end, -1 when the data is corrupt (`failure` says how). Data that
    /// ends inside a gzip member or zstd frame ends the bytes early, with a
    /// `.truncated` failure.
    func fill(_ output: UnsafeMutableRawBufferPointer) -> Int {
        guard failure == nil, output.count > 0 else { return failure == nil ? 0 : -1 }
        while true {
            if inputStart == input.count, !endOfInput { refill() }
            if failure != nil { return -1 }
            let available = input.count - inputStart
            if available == 0, endOfInput {
                if insideFrame {
                    failure = Failure(code: .truncated, message: "the \(compression.rawValue) data ends early: the file was cut short")
                }
                return 0
            }
            let produced: Int
            switch compression {
            case .none:
                produced = min(available, output.count)
                input.withUnsafeBytes { output.baseAddress!.copyMemory(from: $0.baseAddress! + inputStart, byteCount: produced) }
                inputStart += produced
            case .gzip:
                produced = inflateGzip(into: output)
            case .zstd:
                produced = decompressZstd(into: output)
            }
            if failure != nil { return -1 }
            if produced > 0 {
                if leadingBytes.count < 4 {
                    leadingBytes += UnsafeRawBufferPointer(rebasing: output.prefix(min(produced, 4 - leadingBytes.count)))
                }
                return produced
            }
        }
    }

    private func refill() {
        input.removeAll(keepingCapacity: true)
        inputStart = 0
        input.reserveCapacity(Self.bufferSize)
        let count = withUnsafeTemporaryAllocation(byteCount: Self.bufferSize, alignment: 1) { buffer -> Int in
            var count: Int
            repeat {
                count = read(descriptor, buffer.baseAddress, buffer.count)
            } while count < 0 && errno == EINTR
            if count > 0 { input.append(contentsOf: buffer.prefix(count).bindMemory(to: UInt8.self)) }
            return count
        }
        if count < 0 {
            failure = Failure(code: .read, message: "read failed: \(String(cString: strerror(errno)))")
        } else if count == 0 {
            endOfInput = true
        } else {
            bytesRead += Int64(count)
        }
    }

    private func inflateGzip(into output: UnsafeMutableRawBufferPointer) -> Int {
        guard let gzip else { return 0 }
        let available = input.count - inputStart
        let status = input.withUnsafeMutableBytes { bytes -> Int32 in
            gzip.pointee.next_in = bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + inputStart
            gzip.pointee.avail_in = uInt(available)
            gzip.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            gzip.pointee.avail_out = uInt(output.count)
            return inflate(gzip, Z_NO_FLUSH)
        }
        let consumed = available - Int(gzip.pointee.avail_in)
        let produced = output.count - Int(gzip.pointee.avail_out)
        inputStart += consumed
        if consumed > 0 || produced > 0 { insideFrame = true }
        switch status {
        case Z_STREAM_END:
            // A member ended; another may follow (`cat a.gz b.gz`).
            insideFrame = false
            inflateReset(gzip)
        case Z_OK, Z_BUF_ERROR:
            break
        default:
            let reason = gzip.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
            failure = Failure(code: .read, message: "the gzip data is corrupt: \(reason)")
        }
        return produced
    }

    private func decompressZstd(into output: UnsafeMutableRawBufferPointer) -> Int {
        guard let zstd else { return 0 }
        let available = input.count - inputStart
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = input.withUnsafeBytes { bytes -> Int in
            var inBuffer = ZSTD_inBuffer(src: bytes.baseAddress! + inputStart, size: available, pos: 0)
            let result = ZSTD_decompressStream(zstd, &outBuffer, &inBuffer)
            inputStart += inBuffer.pos
            return result
        }
        if ZSTD_isError(result) != 0 {
            failure = Failure(code: .read, message: "the zstd data is corrupt: \(String(cString: ZSTD_getErrorName(result)))")
            return 0
        }
        // 0: a frame is complete and flushed; another may follow.
        insideFrame = result != 0
        return outBuffer.pos
    }
}
