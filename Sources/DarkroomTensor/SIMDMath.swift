/// Vectorised elementary functions for the activation kernels (eight Float lanes, no branches).
@usableFromInline
enum SIMDMath {
    /// e^x, relative error below 2e−7 for x in [−87, 88]: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its degree-7 Taylor
    /// polynomial, 2^k assembled in the exponent bits.
    @inlinable @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var v = x
        v.replace(with: 88, where: v .> 88)
        v.replace(with: -87, where: v .< -87)
        // Adding 1.5·2²³ rounds to an integer and leaves it in the low mantissa bits (no float→int conversion).
        let shifted = v * 1.44269504088896341 + 12_582_912
        let k = shifted - 12_582_912
        let r = v - k * 0.693145751953125 - k * 1.42860682030941723212e-6
        var p = SIMD8<Float>(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let bits = (integer &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// erf(x) with the rational approximation of `Activation.erf`, eight lanes at a time.
    @inlinable @inline(__always)
    static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var c = x
        c.replace(with: 4, where: c .> 4)
        c.replace(with: -4, where: c .< -4)
        let s = c * c
        var num = SIMD8<Float>(repeating: 2.0272867e-06)
        num = num * s + 0.00028618800
        num = num * s + 0.0038447063
        num = num * s + 0.052981764
        num = num * s + 0.19230819
        num = num * s + 1.1283790
        var den = SIMD8<Float>(repeating: 3.7928556e-05)
        den = den * s + 0.0011810574
        den = den * s + 0.015124429
        den = den * s + 0.11487953
        den = den * s + 0.50376058
        den = den * s + 1
        var e = c * num / den
        e.replace(with: 1, where: e .> 1)
        e.replace(with: -1, where: e .< -1)
        return e
    }

    /// Applies `lanes` to whole groups of eight and `scalar` to the tail of `count` elements at `p`.
    @inlinable @inline(__always)
    static func map(_ p: UnsafeMutablePointer<Float>, count: Int,
                    _ lanes: (SIMD8<Float>, Int) -> SIMD8<Float>, _ scalar: (Float, Int) -> Float) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: lanes(v, i), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            p[i] = scalar(p[i], i)
            i += 1
        }
    }
}
