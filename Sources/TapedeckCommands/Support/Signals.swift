import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM; returns the signal's number.
func waitForTerminationSignal() async -> Int32 {
    await withCheckedContinuation { continuation in
        let queue = DispatchQueue(label: "tapedeck.signals")
        let fired = NSLock()
        var resumed = false
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                fired.lock()
                defer { fired.unlock() }
                guard !resumed else { return }
                resumed = true
                sources.forEach { $0.cancel() }
                continuation.resume(returning: number)
            }
            sources.append(source)
            source.resume()
        }
    }
}
