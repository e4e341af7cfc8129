import Foundation

/// "reading FILE: 42% of 1.2 GiB" on a terminal's standard error while a
/// large capture is read; nothing when standard error is not a terminal.
final class ReadProgress {
    private let sizes: [String: Int64]
    private var lastShown = Date.distantPast
    private var shown = false

    /// Files smaller than this finish too fast to need progress.
    private static let threshold: Int64 = 64 << 20

    init(files: [String]) {
        var sizes: [String: Int64] = [:]
        for file in files {
            sizes[file] = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0
        }
        self.sizes = sizes
    }

    func update(path: String, bytesRead: Int64) {
        guard StatusLine.shared.isTerminal, let size = sizes[path], size >= Self.threshold else { return }
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= 0.2 else { return }
        lastShown = now
        shown = true
        let percent = min(100, Int(bytesRead * 100 / max(size, 1)))
        StatusLine.shared.show("reading \(path): \(percent)% of \(ProxyRunner.byteText(Int(size)))")
    }

    func finish() {
        if shown { StatusLine.shared.clear() }
    }
}
