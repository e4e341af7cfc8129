import NIOCore

/// Moves the dates in a recorded HTTP response's head by the time since it
/// was recorded, as mitmproxy's server replay does: `Date`, `Expires`,
/// `Last-Modified` and a `Set-Cookie`'s `Expires=` — so a client that
/// checks freshness or cookie expiry sees the answer as it was, not a
/// stale one. Only IMF-fixdate values (`Sun, 06 Nov 1994 08:49:37 GMT`,
/// what servers send) are moved; each keeps its length, so nothing else in
/// the message changes. The body is never touched.
enum HTTPDateRefresh {
    static let headers: Set<String> = ["date", "expires", "last-modified"]

    /// `response` (one HTTP message's bytes) with its dates moved by `seconds`.
    static func refresh(_ response: ByteBuffer, by seconds: Int64) -> ByteBuffer {
        guard seconds != 0 else { return response }
        let bytes = Array(response.readableBytesView)
        guard let headEnd = find([13, 10, 13, 10], in: bytes) else { return response }
        var head = bytes[..<headEnd]
        var changed = false
        var lineStart = 0
        while lineStart < headEnd {
            let lineEnd = find([13, 10], in: Array(head[lineStart...]))
                .map { lineStart + $0 } ?? headEnd
            let line = Array(head[lineStart..<lineEnd])
            if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                if headers.contains(name) || name == "set-cookie" {
                    for range in dateRanges(in: line, after: colon + 1, cookie: name == "set-cookie") {
                        if let moved = IMFDate.parse(Array(line[range])).map({ IMFDate.format($0 + seconds) }) {
                            head.replaceSubrange((lineStart + range.lowerBound)..<(lineStart + range.upperBound), with: moved)
                            changed = true
                        }
                    }
                }
            }
            lineStart = lineEnd + 2
        }
        guard changed else { return response }
        var out = ByteBuffer()
        out.reserveCapacity(bytes.count)
        out.writeBytes(head)
        out.writeBytes(bytes[headEnd...])
        return out
    }

    /// Where IMF-fixdates sit in a header line: the whole value, or each cookie attribute `Expires=`.
    private static func dateRanges(in line: [UInt8], after valueStart: Int, cookie: Bool) -> [Range<Int>] {
        let length = IMFDate.length
        if !cookie {
            var start = valueStart
            while start < line.count, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
            return start + length <= line.count ? [start..<(start + length)] : []
        }
        var ranges: [Range<Int>] = []
        let lower = line.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
        var searchFrom = valueStart
        let word = Array("expires=".utf8)
        while let found = find(word, in: Array(lower[searchFrom...])) {
            let start = searchFrom + found + word.count
            if start + length <= line.count { ranges.append(start..<(start + length)) }
            searchFrom = start
        }
        return ranges
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

/// RFC 9110's IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, as seconds since the Unix epoch.
enum IMFDate {
    static let length = 29
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count == length else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", parts[0].count == 4, parts[0].hasSuffix(","),
              let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2]) else { return nil }
        let epochDays = daysFromCivil(year: year, month: month + 1, day: day)
        return Int64(epochDays) * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
    }

    static func format(_ seconds: Int64) -> [UInt8] {
        let dayNumber = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(dayNumber) * 86_400)
        let (year, month, day) = civilFromDays(dayNumber)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let weekday = days[((dayNumber % 7) + 7) % 7]
        let text = "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
        return Array(text.utf8)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
