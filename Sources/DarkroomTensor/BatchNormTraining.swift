import Foundation

/// Batch normalisation in training mode (batch statistics) and its gradient, as PyTorch's `BatchNorm2d`.
public enum BatchNormTraining {
    /// What the backward pass needs from the forward pass.
    public struct Cache {
        /// (x − mean)/√(var + ε), the normalised input.
        public let normalized: Tensor
        /// 1/√(var + ε) per channel.
        public let inverseStd: [Float]
    }

    /// Normalises `x` [B,C,...] with its own per-channel statistics and applies γ, β, then GELU when `gelu` is set
    /// (in the same pass; `backwardGELU` is its gradient).
    ///
    /// Updates the running statistics in place with `momentum` (PyTorch: 0.1), using the unbiased variance there
    /// as PyTorch does. Returns the output and the cache for `backward`.
    public static func forward(
        _ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
        momentum: Float = 0.1, epsilon: Float = 1e-5, gelu: Bool = false
    ) throws -> (Tensor, Cache) {
        let (batch, channels) = (x.shape[0], x.shape[1])
        guard weight.count == channels, bias.count == channels, runningMean.count == channels else {
            throw TensorError.shapeMismatch("batch norm of \(x.shape) with \(weight.count) channels")
        }
        let plane = x.count / max(batch * channels, 1)
        let n = batch * plane
        guard n > 1 else { throw TensorError.shapeMismatch("batch norm training needs more than one value per channel, got \(x.shape)") }
        let normalized = Tensor(uninitialized: x.shape)
        let out = Tensor(uninitialized: x.shape)
        var inverseStd = [Float](repeating: 0, count: channels)
        inverseStd.withUnsafeMutableBufferPointer { inv in
            let invP = inv.baseAddress!
            parallelRanges(channels, minimumChunk: max(1, 16_384 / n)) { range in
                for c in range {
                    // Eight-lane partial sums keep Float accumulation accurate (pairwise-like) and vectorised.
                    var acc = SIMD8<Float>()
                    var tail: Float = 0
                    for b in 0..<batch {
                        let row = x.pointer + (b * channels + c) * plane
                        var i = 0
                        while i + 8 <= plane { acc += UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
                        while i < plane { tail += row[i]; i += 1 }
                    }
                    let m = (acc.sum() + tail) / Float(n)
                    var accSq = SIMD8<Float>()
                    var tailSq: Float = 0
                    for b in 0..<batch {
                        let row = x.pointer + (b * channels + c) * plane
                        var i = 0
                        while i + 8 <= plane {
                            let d = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - m
                            accSq += d * d
                            i += 8
                        }
                        while i < plane { let d = row[i] - m; tailSq += d * d; i += 1 }
                    }
                    let sq = Double(accSq.sum() + tailSq)
                    let variance = sq / Double(n)
                    let istd = Float(1 / (variance + Double(epsilon)).squareRoot())
                    invP[c] = istd
                    let g = weight.pointer[c], be = bias.pointer[c]
                    for b in 0..<batch {
                        let off = (b * channels + c) * plane
                        let src = x.pointer + off, nh = normalized.pointer + off, o = out.pointer + off
                        var i = 0
                        while i + 8 <= plane {
                            let v = (UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self) - m) * istd
                            UnsafeMutableRawPointer(nh + i).storeBytes(of: v, as: SIMD8<Float>.self)
                            let u = v * g + be
                            UnsafeMutableRawPointer(o + i).storeBytes(of: gelu ? Activation.gelu8(u) : u, as: SIMD8<Float>.self)
                            i += 8
                        }
                        while i < plane {
                            let v = (src[i] - m) * istd
                            nh[i] = v
                            let u = v * g + be
                            o[i] = gelu ? 0.5 * u * (1 + Activation.erf(u * 0.70710678118654752)) : u
                            i += 1
                        }
                    }
                    runningMean.pointer[c] = (1 - momentum) * runningMean.pointer[c] + momentum * m
                    let unbiased = Float(sq / Double(n - 1))
                    runningVariance.pointer[c] = (1 - momentum) * runningVariance.pointer[c] + momentum * unbiased
                }
            }
        }
        return (out, Cache(normalized: normalized, inverseStd: inverseStd))
    }

    /// Gradient of the training-mode batch norm: adds dγ, dβ into `weightGrad`, `biasGrad`; returns dL/dx.
    ///
    /// dx = (γ·istd/N)·(N·dy − Σdy − x̂·Σ(dy·x̂)) per channel.
    public static func backward(
        _ dy: Tensor, cache: Cache, weight: Tensor, weightGrad: Tensor, biasGrad: Tensor
    ) -> Tensor {
        let (batch, channels) = (dy.shape[0], dy.shape[1])
        let plane = dy.count / max(batch * channels, 1)
        let n = Float(batch * plane)
        let dx = Tensor(uninitialized: dy.shape)
        let xhat = cache.normalized
        cache.inverseStd.withUnsafeBufferPointer { inv in
            parallelRanges(channels, minimumChunk: max(1, 16_384 / (batch * plane))) { range in
                for c in range {
                    var sumDy: Float = 0, sumDyX: Float = 0
                    for b in 0..<batch {
                        let off = (b * channels + c) * plane
                        let d = dy.pointer + off, xh = xhat.pointer + off
                        for i in 0..<plane { sumDy += d[i]; sumDyX += d[i] * xh[i] }
                    }
                    weightGrad.pointer[c] += sumDyX
                    biasGrad.pointer[c] += sumDy
                    let k = weight.pointer[c] * inv[c] / n
                    for b in 0..<batch {
                        let off = (b * channels + c) * plane
                        let d = dy.pointer + off, xh = xhat.pointer + off, o = dx.pointer + off
                        for i in 0..<plane { o[i] = k * (n * d[i] - sumDy - xh[i] * sumDyX) }
                    }
                }
            }
        }
        return dx
    }

    /// Gradient of `forward(..., gelu: true)`: GELU's and the batch norm's in two passes per channel, the GELU input
    /// u = γ·x̂ + β recomputed from the cache. Adds dγ, dβ into `weightGrad`, `biasGrad`; returns dL/dx.
    public static func backwardGELU(
        _ dy: Tensor, cache: Cache, weight: Tensor, bias: Tensor, weightGrad: Tensor, biasGrad: Tensor
    ) -> Tensor {
        let (batch, channels) = (dy.shape[0], dy.shape[1])
        let plane = dy.count / max(batch * channels, 1)
        let n = Float(batch * plane)
        let dx = Tensor(uninitialized: dy.shape)
        let xhat = cache.normalized
        cache.inverseStd.withUnsafeBufferPointer { inv in
            parallelRanges(channels, minimumChunk: max(1, 16_384 / (batch * plane))) { range in
                for c in range {
                    let (g, be) = (weight.pointer[c], bias.pointer[c])
                    // du = dy·(Φ(u) + u·φ(u)) into dx, with Σdu and Σdu·x̂.
                    var sumDy = SIMD8<Float>(), sumDyX = SIMD8<Float>()
                    var tailDy: Float = 0, tailDyX: Float = 0
                    for b in 0..<batch {
                        let off = (b * channels + c) * plane
                        let d = dy.pointer + off, xh = xhat.pointer + off, o = dx.pointer + off
                        var i = 0
                        while i + 8 <= plane {
                            let x = UnsafeRawPointer(xh + i).loadUnaligned(as: SIMD8<Float>.self)
                            let u = x * g + be
                            let cdf = 0.5 * (1 + SIMDMath.erf(u * 0.70710678118654752))
                            let pdf = 0.3989422804014327 * SIMDMath.exp(-0.5 * u * u)
                            let du = UnsafeRawPointer(d + i).loadUnaligned(as: SIMD8<Float>.self) * (cdf + u * pdf)
                            UnsafeMutableRawPointer(o + i).storeBytes(of: du, as: SIMD8<Float>.self)
                            sumDy += du
                            sumDyX += du * x
                            i += 8
                        }
                        while i < plane {
                            let u = xh[i] * g + be
                            let cdf = 0.5 * (1 + Activation.erf(u * 0.70710678118654752))
                            let pdf = 0.3989422804014327 * expf(-0.5 * u * u)
                            let du = d[i] * (cdf + u * pdf)
                            o[i] = du
                            tailDy += du
                            tailDyX += du * xh[i]
                            i += 1
                        }
                    }
                    let sDy = sumDy.sum() + tailDy, sDyX = sumDyX.sum() + tailDyX
                    weightGrad.pointer[c] += sDyX
                    biasGrad.pointer[c] += sDy
                    let k = g * inv[c] / n
                    for b in 0..<batch {
                        let off = (b * channels + c) * plane
                        let xh = xhat.pointer + off, o = dx.pointer + off
                        var i = 0
                        while i + 8 <= plane {
                            let du = UnsafeRawPointer(o + i).loadUnaligned(as: SIMD8<Float>.self)
                            let x = UnsafeRawPointer(xh + i).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(o + i).storeBytes(of: k * (n * du - sDy - x * sDyX), as: SIMD8<Float>.self)
                            i += 8
                        }
                        while i < plane { o[i] = k * (n * o[i] - sDy - xh[i] * sDyX); i += 1 }
                    }
                }
            }
        }
        return dx
    }
}
