import Foundation

/// A fresh directory under the system's temporary folder, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/tapedeck-cli-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ChildProcess.Failure(description: "could not create a temporary directory: errno \(errno)")
        }
        path = String(cString: created)
    }

    func file(_ name: String) -> String {
        path + "/" + name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
