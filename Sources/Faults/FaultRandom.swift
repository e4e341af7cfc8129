/// A small, fast, seedable and splittable generator (xoshiro256**, seeded
/// through SplitMix64) whose output is fixed by this file alone — not by the
/// standard library's algorithms — so a seed gives the same faults on every
/// Swift version and platform.
///
/// Splitting: ``init(seed:connection:stream:fault:purpose:)`` derives an
/// independent generator per (seed, connection, stream, fault name, purpose),
/// so one connection's draws never depend on how connections interleave, on
/// other faults, or on how many draws another purpose made.
package struct FaultRandom: RandomNumberGenerator, Sendable, Hashable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// What a derived generator is for; each purpose has its own stream.
    public enum Purpose: UInt64, Sendable {
        /// The per-connection toxicity decision.
        case toxicity = 1
        /// The fault's own draws (jitter, drops, slicer cut points).
        case behaviour = 2
    }

    /// A generator for one seed.
    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
    }

    /// The generator for one fault on one connection.
    public init(seed: UInt64, connection: UInt64, stream: FaultStream, fault name: String, purpose: Purpose) {
        var key = SplitMix64.mix(seed)
        key = SplitMix64.mix(key ^ connection)
        key = SplitMix64.mix(key ^ Self.fnv1a(stream.rawValue))
        key = SplitMix64.mix(key ^ Self.fnv1a(name))
        key = SplitMix64.mix(key ^ purpose.rawValue)
        self.init(seed: key)
    }

    public static func == (lhs: FaultRandom, rhs: FaultRandom) -> Bool {
        lhs.state == rhs.state
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0)
        hasher.combine(state.1)
        hasher.combine(state.2)
        hasher.combine(state.3)
    }

    public mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(by: 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3.rotatedLeft(by: 45)
        return result
    }

    /// A uniform value in `0..<bound` (Lemire's method with rejection);
    /// 0 when `bound` is 0.
    public mutating func next(below bound: UInt64) -> UInt64 {
        guard bound > 0 else { return 0 }
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// A uniform value in `0..<1` with 53 bits of precision.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// 64-bit FNV-1a of the UTF-8 bytes: a stable string hash (Swift's
    /// `Hasher` is seeded per process).
    static func fnv1a(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// SplitMix64: seeds xoshiro and mixes derivation keys.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Self.mix(state)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(by amount: UInt64) -> UInt64 {
        (self << amount) | (self >> (64 - amount))
    }
}
