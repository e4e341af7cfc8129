import Atomics
import NIOConcurrencyHelpers

/// One open session's recording state, used on the event loop that reads
/// its bytes: the frames' sequence numbers and addresses, and what its
/// redaction holds back until a match is decided. The lock keeps a
/// session's events in order on their way to the queue, and lets the
/// writer take what redaction still holds when the recorder finishes.
final class SessionFramer: @unchecked Sendable {
    let lock = NIOLock()
    /// Under `lock`.
    var synthesizer: FrameSynthesizer
    /// Under `lock`; nil without `--redact`.
    var redaction: SessionRedaction?
    /// Under `lock`: XXH3-64 of the bytes each direction has queued, taken
    /// here while they are still in the cache of the core that read them
    /// (on the writer thread they would be read from memory again). Each
    /// data item carries its direction's digest after it; the writer's
    /// manifest takes the last one.
    private let digests = [StreamChecksum(.xxh3), StreamChecksum(.xxh3)]
    /// False once the session goes on in another file of a rotated set:
    /// that file's writer takes its XXH3 itself, from the file's first byte
    /// of it, so `digests` are no longer taken. Set by the writer thread
    /// between files, when no item for the earlier file is left to build.
    let digestsWanted = ManagedAtomic(true)

    /// `direction`'s digest, under `lock`; nil once no longer wanted.
    func digest(_ direction: Direction) -> StreamChecksum? {
        digestsWanted.load(ordering: .relaxed) ? digests[direction == .clientToServer ? 0 : 1] : nil
    }

    /// `redactor`'s patterns are shared; the session matches with scratch
    /// space of its own, as sessions are redacted on several threads at once.
    init(session: Session, addressing: SyntheticAddressing, redactor: Redactor?) {
        synthesizer = FrameSynthesizer(session: session, addressing: addressing)
        redaction = redactor.map { SessionRedaction(redactor: $0.withOwnScratch()) }
    }
}
