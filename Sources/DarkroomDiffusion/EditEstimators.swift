import DarkroomTensor
import DarkroomJobModel

/// The noise estimates of the two-prompt edits, built from guided estimates of the denoiser.
public enum EditEstimators {
    /// Visual anagram: ε = w·ε(x, p₁) + (1 − w)·view⁻¹(ε(view(x), p₂)); the variance channel is combined the same way.
    public static func anagram(_ denoiser: Denoiser, _ c1: [Conditioning], _ c2: [Conditioning], view: ImageView,
                               weight w: Float, guidance: Float) -> NoiseEstimator {
        { x, t in
            let p1 = try Guidance.guided(denoiser, x, t: t, conditioning: c1, scale: guidance)
            let p2 = try Guidance.guided(denoiser, view.apply(x), t: t, conditioning: c2, scale: guidance)
            let e = blend(p1.output, view.inverse.apply(p2.output), w)
            let v = p1.variance.flatMap { v1 in p2.variance.map { blend(v1, view.inverse.apply($0), w) } }
            return Prediction(output: e, variance: v)
        }
    }

    /// Hybrid image: ε = lowpass(ε(x, p₁)) + highpass(ε(x, p₂)), Gaussian of `kernel` and `sigma`; the variance
    /// channel is the mean of the two.
    public static func hybrid(_ denoiser: Denoiser, _ c1: [Conditioning], _ c2: [Conditioning], kernel: Int, sigma: Float,
                              guidance: Float) -> NoiseEstimator {
        { x, t in
            let p1 = try Guidance.guided(denoiser, x, t: t, conditioning: c1, scale: guidance)
            let p2 = try Guidance.guided(denoiser, x, t: t, conditioning: c2, scale: guidance)
            let low = try GaussianBlur.apply(p1.output, size: kernel, sigma: sigma)
            let blurred2 = try GaussianBlur.apply(p2.output, size: kernel, sigma: sigma)
            let e = Tensor(uninitialized: low.shape)
            for i in 0..<e.count { e.pointer[i] = low.pointer[i] + (p2.output.pointer[i] - blurred2.pointer[i]) }
            let v = p1.variance.flatMap { v1 in p2.variance.map { blend(v1, $0, 0.5) } }
            return Prediction(output: e, variance: v)
        }
    }
}
