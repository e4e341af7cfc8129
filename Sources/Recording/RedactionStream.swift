/// Redaction of one direction of one session, read by read: finds every
/// match of every pattern, including matches that span reads, and says how
/// far the stream is settled — bytes no match still to come can touch.
///
/// Offsets count the direction's bytes from its first. Bytes that could
/// still be the start of a match wait (`settled` stops before them) until
/// more bytes decide, the direction ends, or they have waited through
/// `Redactor.spanLimit` bytes of one pattern's match — then they are masked.
struct RedactionStream {
    private let redactor: Redactor
    /// Bytes kept for matching: from `scanStart` to `end`.
    private var scan: [UInt8] = []
    private var scanStart: Int64 = 0
    /// Where each pattern's next search starts.
    private var resume: [Int64]
    /// Where each pattern's unfinished match starts, if one does.
    private var pending: [Int64?]
    /// Masked ranges not yet handed out, in order.
    private var masks: [Range<Int64>] = []
    /// After a gap, the bytes before it are not context for a match.
    private var atStreamStart = true

    init(redactor: Redactor) {
        self.redactor = redactor
        resume = Array(repeating: 0, count: redactor.compiled.count)
        pending = Array(repeating: nil, count: redactor.compiled.count)
    }

    /// The offset after the last byte appended.
    var end: Int64 { scanStart + Int64(scan.count) }

    /// Bytes before this offset are final: no match still to come touches them.
    var settled: Int64 { pending.compactMap { $0 }.min() ?? end }

    /// Adds the next bytes of the direction and searches them.
    mutating func append(_ bytes: some Sequence<UInt8>) {
        scan.append(contentsOf: bytes)
        search(partial: true)
        for index in pending.indices {
            guard let start = pending[index], end - start > Redactor.spanLimit else { continue }
            mask(start..<end)
            pending[index] = nil
            resume[index] = end
        }
        trim()
    }

    /// The direction ended (or was cut by a gap): matches are decided as
    /// they stand, and every byte is settled.
    mutating func finish() {
        search(partial: false)
        for index in pending.indices {
            pending[index] = nil
            resume[index] = end
        }
        trim()
    }

    /// Settles every byte now, before the bytes that would decide whether a
    /// pending match completes: those that could be part of it are masked.
    /// Matching goes on, so the rest of such a match is masked when it comes.
    mutating func settleNow() {
        if let start = pending.compactMap({ $0 }).min() { mask(start..<end) }
        for index in pending.indices where pending[index] != nil {
            pending[index] = end
        }
    }

    /// Bytes lost from the capture follow: the bytes before them are decided
    /// as they stand and are no context for what comes after.
    mutating func gap() {
        finish()
        scanStart = end
        scan.removeAll()
        atStreamStart = false
    }

    /// `bytes` (the direction's bytes from `offset`) with every masked byte
    /// replaced by the filler; nil when none of them is masked. Ranges before
    /// the end of these bytes are forgotten: call in stream order.
    mutating func masked(_ bytes: some Collection<UInt8>, at offset: Int64) -> [UInt8]? {
        let upper = offset + Int64(bytes.count)
        var copy: [UInt8]?
        for range in masks where range.lowerBound < upper && range.upperBound > offset {
            if copy == nil { copy = Array(bytes) }
            for position in max(range.lowerBound, offset)..<min(range.upperBound, upper) {
                copy![Int(position - offset)] = Redactor.filler
            }
        }
        masks.removeAll { $0.upperBound <= upper }
        return copy
    }

    private mutating func search(partial: Bool) {
        let streamStart = atStreamStart && scanStart == 0
        scan.withUnsafeBufferPointer { subject in
            for (index, pattern) in redactor.compiled.enumerated() {
                var position = Int(resume[index] - scanStart)
                pending[index] = nil
                searching: while position <= subject.count {
                    switch redactor.search(pattern, in: subject, from: position, atStreamStart: streamStart, partial: partial) {
                    case .match(let range):
                        let clamped = range.clamped(to: 0..<subject.count)
                        mask(scanStart + Int64(clamped.lowerBound)..<scanStart + Int64(clamped.upperBound))
                        position = max(range.upperBound, position + 1)
                    case .partial(let from):
                        pending[index] = scanStart + Int64(from)
                        position = from
                        break searching
                    case .none:
                        position = subject.count
                        break searching
                    }
                }
                resume[index] = scanStart + Int64(min(position, subject.count))
            }
        }
    }

    private mutating func mask(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        if let last = masks.last, last.upperBound >= range.lowerBound, last.lowerBound <= range.lowerBound {
            masks[masks.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
        } else {
            masks.append(range)
            if masks.count > 1, masks[masks.count - 2].lowerBound > range.lowerBound { masks.sort { $0.lowerBound < $1.lowerBound } }
        }
    }

    /// Keeps only the bytes a later search can look at: from each pattern's
    /// resume point, less what it may look behind.
    private mutating func trim() {
        var keepFrom = end
        for (index, pattern) in redactor.compiled.enumerated() {
            keepFrom = min(keepFrom, resume[index] - Int64(pattern.lookbehind))
        }
        let drop = Int(max(0, min(keepFrom - scanStart, Int64(scan.count))))
        guard drop > 0 else { return }
        scan.removeFirst(drop)
        scanStart += Int64(drop)
    }
}
