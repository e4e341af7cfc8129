import CInternetChecksum

/// RFC 1071 one's-complement sum, accumulated over several pieces.
///
/// Words are summed in host order (`internet_checksum_sum16`, vectorised C)
/// and swapped once at the end (the sum is byte-order independent up to
/// that swap).
struct InternetChecksum {
    private var sum: UInt64 = 0
    /// True when an odd number of bytes has been added so far.
    private var odd = false

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        if odd, count > 0 {
            // The previous piece ended mid-word: this byte is that word's second (low) byte.
            sum &+= UInt64(bytes[0])
            index = 1
            odd = false
        }
        let words = (count - index) / 2
        let wide = words == 0 ? 0 : internet_checksum_sum16(bytes.baseAddress! + index, words)
        index += words * 2
        // Fold the host-order 64-bit accumulator into big-endian 16-bit words.
        var folded = (wide & 0xFFFF_FFFF) + (wide >> 32)
        folded = (folded & 0xFFFF) + (folded >> 16)
        folded = (folded & 0xFFFF) + (folded >> 16)
        folded = (folded & 0xFFFF) + (folded >> 16)
        sum &+= UInt64(UInt16(truncatingIfNeeded: folded).bigEndian)
        while index + 2 <= count {
            sum &+= UInt64(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
            index += 2
        }
        if index < count {
            sum &+= UInt64(UInt16(bytes[index]) << 8)
            odd = true
        }
    }

    mutating func add(bigEndian value: UInt16) {
        precondition(!odd, "16-bit words must be added on an even offset")
        sum &+= UInt64(value)
    }

    mutating func add(bigEndian value: UInt32) {
        add(bigEndian: UInt16(truncatingIfNeeded: value >> 16))
        add(bigEndian: UInt16(truncatingIfNeeded: value))
    }

    /// The checksum field's value, to be stored big-endian.
    var value: UInt16 {
        var folded = sum
        while folded > 0xFFFF {
            folded = (folded & 0xFFFF) + (folded >> 16)
        }
        return ~UInt16(truncatingIfNeeded: folded)
    }
}
