import DarkroomTensor

/// The Fréchet distance between two sets of feature vectors, each summarised as a Gaussian (as FID does):
/// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2·(Σ₁Σ₂)^½), with unbiased covariances.
///
/// Tr((Σ₁Σ₂)^½) is the sum of the square roots of the eigenvalues of Σ₁^½·Σ₂·Σ₁^½, which is symmetric and has the
/// same eigenvalues as Σ₁Σ₂; both square roots come from a Jacobi eigen-decomposition in double precision.
public enum FrechetDistance {
    /// The Gaussian of a feature set: mean and covariance of the rows of a [N, d] tensor (N ≥ 2).
    public struct Statistics {
        public let mean: [Double]
        /// Row-major d×d.
        public let covariance: [Double]
        public var dimension: Int { mean.count }

        public init(features: Tensor) {
            precondition(features.rank == 2 && features.shape[0] >= 2, "need at least two feature rows")
            let (n, d) = (features.shape[0], features.shape[1])
            var mean = [Double](repeating: 0, count: d)
            for r in 0..<n { for j in 0..<d { mean[j] += Double(features.pointer[r * d + j]) } }
            for j in 0..<d { mean[j] /= Double(n) }
            var cov = [Double](repeating: 0, count: d * d)
            var centred = [Double](repeating: 0, count: d)
            for r in 0..<n {
                for j in 0..<d { centred[j] = Double(features.pointer[r * d + j]) - mean[j] }
                for i in 0..<d { for j in i..<d { cov[i * d + j] += centred[i] * centred[j] } }
            }
            for i in 0..<d {
                for j in i..<d {
                    cov[i * d + j] /= Double(n - 1)
                    cov[j * d + i] = cov[i * d + j]
                }
            }
            self.mean = mean
            covariance = cov
        }
    }

    /// The distance between two feature sets [N, d] and [M, d].
    public static func between(_ a: Tensor, _ b: Tensor) -> Double {
        between(Statistics(features: a), Statistics(features: b))
    }

    public static func between(_ a: Statistics, _ b: Statistics) -> Double {
        let d = a.dimension
        precondition(b.dimension == d, "feature dimensions differ")
        var distance = 0.0
        for j in 0..<d { distance += (a.mean[j] - b.mean[j]) * (a.mean[j] - b.mean[j]) }
        for j in 0..<d { distance += a.covariance[j * d + j] + b.covariance[j * d + j] }
        // S = Σ₁^½ = V·diag(√λ)·Vᵀ, then the eigenvalues of S·Σ₂·S.
        let (values, vectors) = symmetricEigen(a.covariance, d)
        var s = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                var sum = 0.0
                for k in 0..<d { sum += vectors[i * d + k] * max(values[k], 0).squareRoot() * vectors[j * d + k] }
                s[i * d + j] = sum
            }
        }
        var product = multiply(multiply(s, b.covariance, d), s, d)
        // Symmetric in exact arithmetic; make it so in floating point too, as Jacobi assumes.
        for i in 0..<d {
            for j in (i + 1)..<max(i + 1, d) {
                let mean = 0.5 * (product[i * d + j] + product[j * d + i])
                product[i * d + j] = mean
                product[j * d + i] = mean
            }
        }
        let traceRoot = symmetricEigen(product, d).values.reduce(0) { $0 + max($1, 0).squareRoot() }
        return distance - 2 * traceRoot
    }

    private static func multiply(_ x: [Double], _ y: [Double], _ d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for k in 0..<d { let v = x[i * d + k]; for j in 0..<d { out[i * d + j] += v * y[k * d + j] } } }
        return out
    }

    /// Eigenvalues and eigenvectors (columns of the row-major result) of a symmetric d×d matrix, by cyclic Jacobi
    /// rotations until the off-diagonal mass is negligible.
    static func symmetricEigen(_ matrix: [Double], _ d: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: d * d)
        for i in 0..<d { v[i * d + i] = 1 }
        let scale = max(a.reduce(0) { $0 + $1 * $1 }, .leastNormalMagnitude)
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<d { for j in (i + 1)..<max(i + 1, d) { off += a[i * d + j] * a[i * d + j] } }
            if off <= 1e-30 * scale { break }
            for p in 0..<d {
                for q in (p + 1)..<max(p + 1, d) where a[p * d + q] != 0 {
                    let apq = a[p * d + q]
                    let theta = (a[q * d + q] - a[p * d + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<d {
                        let (akp, akq) = (a[k * d + p], a[k * d + q])
                        a[k * d + p] = c * akp - s * akq
                        a[k * d + q] = s * akp + c * akq
                    }
                    for k in 0..<d {
                        let (apk, aqk) = (a[p * d + k], a[q * d + k])
                        a[p * d + k] = c * apk - s * aqk
                        a[q * d + k] = s * apk + c * aqk
                    }
                    for k in 0..<d {
                        let (vkp, vkq) = (v[k * d + p], v[k * d + q])
                        v[k * d + p] = c * vkp - s * vkq
                        v[k * d + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<d).map { a[$0 * d + $0] }, v)
    }
}
