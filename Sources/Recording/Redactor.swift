import CPCRE2

/// The `--redact` patterns of a recording, compiled by PCRE2 to match bytes
/// (one character per byte, no UTF-8 decoding).
///
/// Every pattern applies, each on its own (a byte any of them matched is
/// masked). A pattern that can match the empty string is refused: it would
/// match everywhere and mask nothing useful. Matches that span reads are
/// found by `RedactionStream`, which holds back only the bytes that could
/// still complete a match, up to `spanLimit` bytes per pattern.
///
/// Threading: the compiled patterns may be shared by any number of threads;
/// matching uses scratch memory of the redactor's own, so one redactor is
/// used by one thread at a time — the recorder gives each session its own
/// (`withOwnScratch()`), as sessions are redacted on their event loops.
package final class Redactor: @unchecked Sendable {
    /// What replaces each masked byte.
    package static let filler = UInt8(ascii: "*")
    /// The longest match guaranteed to be masked when it spans reads: bytes
    /// that have waited this long for a match to complete are masked and let go.
    package static let spanLimit = 4096

    package let patterns: [String]
    let compiled: [Pattern]

    /// A compiled pattern, shared by the redactors made from one another.
    final class Code: @unchecked Sendable {
        let pointer: OpaquePointer

        init(_ pointer: OpaquePointer) {
            self.pointer = pointer
        }

        deinit {
            pcre2_code_free_8(pointer)
        }
    }

    /// One compiled pattern and this redactor's scratch space for it.
    final class Pattern {
        let code: OpaquePointer
        let codeOwner: Code
        let matchData: OpaquePointer
        /// How many bytes before a match the pattern may look at (lookbehind, `\b`).
        let lookbehind: Int

        init?(_ owner: Code, lookbehind: Int) {
            guard let matchData = pcre2_match_data_create_from_pattern_8(owner.pointer, nil) else { return nil }
            self.codeOwner = owner
            self.code = owner.pointer
            self.matchData = matchData
            self.lookbehind = lookbehind
        }

        deinit {
            pcre2_match_data_free_8(matchData)
        }
    }

    /// Compiles `patterns`; throws `.invalidRedaction` naming `option` and
    /// the first pattern that does not compile or can match the empty string.
    package init(patterns: [String], option: String = "--redact") throws(RecordingError) {
        self.patterns = patterns
        var compiled: [Pattern] = []
        for pattern in patterns {
            compiled.append(try Self.compile(pattern, option: option))
        }
        self.compiled = compiled
    }

    private init(patterns: [String], compiled: [Pattern]) {
        self.patterns = patterns
        self.compiled = compiled
    }

    /// The same patterns with scratch space of their own, for another
    /// thread (or session) to match with.
    package func withOwnScratch() -> Redactor {
        let copies = compiled.map { pattern in
            guard let copy = Pattern(pattern.codeOwner, lookbehind: pattern.lookbehind) else {
                fatalError("pcre2_match_data_create_from_pattern: out of memory")
            }
            return copy
        }
        return Redactor(patterns: patterns, compiled: copies)
    }

    private static func compile(_ pattern: String, option: String) throws(RecordingError) -> Pattern {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let code = pattern.utf8CString.withUnsafeBufferPointer { text in
            text.withMemoryRebound(to: UInt8.self) { bytes in
                pcre2_compile_8(bytes.baseAddress, pattern.utf8.count, UInt32(PCRE2_NEVER_UTF), &errorCode, &errorOffset, nil)
            }
        }
        guard let code else {
            throw RecordingError(.invalidRedaction, "\(option) '\(pattern)' is not a valid regular expression: \(message(errorCode)) at offset \(errorOffset)")
        }
        var matchesEmpty: UInt32 = 0
        var lookbehind: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_MATCHEMPTY), &matchesEmpty)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_MAXLOOKBEHIND), &lookbehind)
        guard matchesEmpty == 0 else {
            pcre2_code_free_8(code)
            throw RecordingError(.invalidRedaction, "\(option) '\(pattern)' can match the empty string, so it would match everywhere; make it match at least one byte (e.g. x+ rather than x*)")
        }
        // Without JIT (not built in, or no memory for it) matching is slower, not different.
        _ = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD))
        guard let compiled = Pattern(Code(code), lookbehind: Int(lookbehind)) else {
            throw RecordingError(.invalidRedaction, "\(option) '\(pattern)': out of memory")
        }
        return compiled
    }

    private static func message(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer.prefix(Int(length)), as: UTF8.self) : "error \(code)"
    }

    /// What one search found.
    enum Found {
        /// A whole match.
        case match(Range<Int>)
        /// Bytes from this offset to the end could be the start of a match
        /// that more bytes would complete.
        case partial(from: Int)
        case none
    }

    /// Searches `subject` for `pattern` from `start`. `atStreamStart` says
    /// whether `subject` begins the stream (where `^` matches); `partial`
    /// whether more bytes may follow. A search PCRE2 gives up on (its match
    /// limit) is reported as a partial match from `start`, so those bytes are
    /// masked rather than recorded in clear.
    func search(_ pattern: Pattern, in subject: UnsafeBufferPointer<UInt8>, from start: Int, atStreamStart: Bool, partial: Bool) -> Found {
        var options: UInt32 = atStreamStart ? 0 : UInt32(PCRE2_NOTBOL)
        if partial { options |= UInt32(PCRE2_PARTIAL_HARD) }
        let base = subject.baseAddress ?? UnsafePointer(bitPattern: 1)!
        let result = pcre2_match_8(pattern.code, base, subject.count, start, options, pattern.matchData, nil)
        let vector = pcre2_get_ovector_pointer_8(pattern.matchData)!
        switch result {
        case PCRE2_ERROR_NOMATCH:
            return .none
        case PCRE2_ERROR_PARTIAL:
            return .partial(from: vector[0])
        case let count where count >= 0:
            return .match(vector[0]..<max(vector[1], vector[0] + 1))
        default:
            return partial ? .partial(from: start) : .match(start..<max(subject.count, start + 1))
        }
    }
}
