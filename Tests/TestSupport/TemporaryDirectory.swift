import Foundation

/// A fresh directory under the system's temporary folder, removed by `remove()`.
public struct TemporaryDirectory {
    public let path: String

    public init() throws {
        var template = Array((NSTemporaryDirectory() + "/tapedeck-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ChildProcess.Failure(description: "could not create a temporary directory: errno \(errno)")
        }
        path = String(cString: created)
    }

    public func file(_ name: String) -> String {
        path + "/" + name
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
