import Foundation

/// Darkroom's one random generator: counter-based SplitMix64, with Gaussians by the Box–Muller transform.
///
/// The n-th 64-bit word is `mix(seed + n·0x9E3779B97F4A7C15)` with SplitMix64's finaliser, so a stream depends only on
/// the seed and how many numbers were drawn: the same seed gives the same bytes on every run and thread count.
/// Uniforms take the top 24 bits of a word; each Box–Muller pair uses two words and yields two Gaussians.
public struct RandomSource: Sendable {
    /// The seed the stream started from.
    public let seed: UInt64
    /// Number of 64-bit words drawn so far.
    public private(set) var counter: UInt64 = 0
    private var spare: Float?

    public init(seed: UInt64) { self.seed = seed }

    /// The next raw 64-bit word.
    public mutating func nextWord() -> UInt64 {
        counter &+= 1
        var z = seed &+ counter &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1).
    public mutating func uniform() -> Float {
        Float(nextWord() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform integer in 0..<bound (bound > 0), without modulo bias.
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let w = nextWord()
            if w < limit { return Int(w % b) }
        }
    }

    /// A standard normal Float.
    public mutating func gaussian() -> Float {
        if let s = spare {
            spare = nil
            return s
        }
        // u1 in (0, 1] so the logarithm is finite.
        let u1 = (Double(nextWord() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(nextWord() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let r = (-2 * log(u1)).squareRoot()
        spare = Float(r * sin(2 * Double.pi * u2))
        return Float(r * cos(2 * Double.pi * u2))
    }

    /// A tensor of standard normal values.
    public mutating func gaussian(_ shape: [Int]) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = gaussian() }
        return t
    }

    /// A tensor of uniform values in [0, 1).
    public mutating func uniform(_ shape: [Int]) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = uniform() }
        return t
    }
}
