import ServiceLifecycle

/// A recorder's life as a `Service`: it records from the moment it is made;
/// at graceful shutdown or cancellation it writes out what is queued and
/// closes its files. Put it before the services that report to it, so the
/// group closes the recording last.
extension Recorder: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        finish()
    }
}
