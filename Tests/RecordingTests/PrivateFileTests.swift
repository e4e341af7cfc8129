import Foundation
import Recording
import TapedeckTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Manifests, report pages and replay reports are written 0600 and
/// atomically, except where the path is not a regular file: `-o /dev/null`
/// must write into the device, not rename a file over it.
@Suite struct PrivateFileTests {
    @Test func aRegularFileIsReplacedWholeAndPrivate() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("report.json")
        try Data("earlier".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        try PrivateFile.write(Data("{\"sessions\": 3}".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"sessions\": 3}")
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test func aFIFOIsWrittenThroughAndStaysAFIFO() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("pipe")
        #expect(mkfifo(path, 0o600) == 0)
        // The read end is open (without waiting for a writer) before the
        // write, and what is written fits the pipe's 64 KiB: no thread waits.
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let page = Data(repeating: UInt8(ascii: "x"), count: 32_000)
        try PrivateFile.write(to: path) { add in
            try add(page)
            try add(Data("end".utf8))
        }
        var read = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(reader, &chunk, chunk.count)
            guard count > 0 else { break }
            read.append(contentsOf: chunk[0..<count])
        }
        #expect(read == page + Data("end".utf8))
        var status = stat()
        #expect(lstat(path, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFIFO)
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test func aFolderIsRefusedAndLeftAlone() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: PrivateFileError.self) { try PrivateFile.write(Data("x".utf8), to: directory.path) }
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}
