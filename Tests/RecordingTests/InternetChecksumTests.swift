@testable import Recording
import TapedeckTestSupport
import Testing

/// The checksum frames carry, against RFC 1071 summed the plain way: 16-bit
/// big-endian words, carries folded back, over the bytes joined.
@Suite struct InternetChecksumTests {
    static func reference(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index < bytes.count {
            let high = UInt32(bytes[index]) << 8
            let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            sum += high | low
            sum = (sum & 0xFFFF) + (sum >> 16)
            index += 2
        }
        return ~UInt16(sum)
    }

    static func checksum(_ bytes: [UInt8], cutAt cuts: [Int]) -> UInt16 {
        var checksum = InternetChecksum()
        var start = 0
        bytes.withUnsafeBytes { raw in
            for cut in cuts + [bytes.count] {
                checksum.add(UnsafeRawBufferPointer(rebasing: raw[start..<cut]))
                start = cut
            }
        }
        return checksum.value
    }

    @Test("RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2")
    func rfcExample() {
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(Self.checksum(bytes, cutAt: []) == ~UInt16(0xDDF2))
        #expect(Self.checksum(bytes, cutAt: [1, 4, 7]) == ~UInt16(0xDDF2))
    }

    @Test("any bytes, in pieces cut anywhere (odd and even, empty, one byte), sum as one run")
    func piecesAgreeWithReference() {
        var random = SeededGenerator(seed: 1071)
        // Every 65,536 words (128 KiB) the 32-bit sums are emptied into the
        // 64-bit total and start again; the vectorised loop takes 32 bytes a step.
        for length in [0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 1_460, 9_001, 65_536, 65_537,
                       131_071, 131_072, 131_073, 131_105, 262_147, 2_097_217] {
            for round in 0..<(length > 100_000 ? 2 : 8) {
                // All 0xFF in one round: the sum's carries at their largest.
                let bytes = round == 0
                    ? [UInt8](repeating: 0xFF, count: length)
                    : (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                let expected = Self.reference(bytes)
                #expect(Self.checksum(bytes, cutAt: []) == expected, "length \(length), round \(round), whole")
                let cuts = length == 0 ? [] : (0..<Int.random(in: 1...6, using: &random))
                    .map { _ in Int.random(in: 0...length, using: &random) }.sorted()
                #expect(Self.checksum(bytes, cutAt: cuts) == expected, "length \(length), round \(round), cut at \(cuts)")
            }
        }
    }
}
