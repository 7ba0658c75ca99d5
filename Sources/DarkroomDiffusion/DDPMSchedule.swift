import Foundation

/// A discrete noise schedule as ᾱ per timestep index: x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε.
///
/// Indices are those the model is trained with. The small UNet's linear schedule puts ᾱ₀ = 1 (no noise) and
/// ᾱ_t = Π_{s=1..t}(1 − β_s) for t = 1…T; DeepFloyd IF's cosine schedule has ᾱ₀ = α₀ < 1 (diffusers' indexing).
public struct DDPMSchedule: Sendable, Equatable {
    /// ᾱ by timestep index.
    public let alphaBars: [Double]
    /// The largest timestep index the model was trained on.
    public var maxTimestep: Int { alphaBars.count - 1 }

    public init(alphaBars: [Double]) {
        precondition(!alphaBars.isEmpty)
        self.alphaBars = alphaBars
    }

    /// The small UNet's schedule: β linear from `start` to `end` over T steps, ᾱ₀ = 1, indices 0…T.
    public static func linear(timesteps: Int, start: Double = 1e-4, end: Double = 0.02) -> DDPMSchedule {
        precondition(timesteps >= 1)
        var bars = [1.0]
        for i in 0..<timesteps {
            let beta = timesteps == 1 ? start : start + (end - start) * Double(i) / Double(timesteps - 1)
            bars.append(bars.last! * (1 - beta))
        }
        return DDPMSchedule(alphaBars: bars)
    }

    /// DeepFloyd IF's `squaredcos_cap_v2` schedule exactly as diffusers computes it: β in double, stored as float32,
    /// α = 1 − β in float32, cumulative product accumulated in double and rounded to float32 at every index.
    public static func cosine(timesteps: Int = 1000) -> DDPMSchedule {
        func ab(_ u: Double) -> Double {
            let c = cos((u + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        var bars: [Double] = []
        var product = 1.0
        for i in 0..<timesteps {
            let beta = Float(min(1 - ab(Double(i + 1) / Double(timesteps)) / ab(Double(i) / Double(timesteps)), 0.999))
            let alpha = 1 - beta
            product *= Double(alpha)
            bars.append(Double(Float(product)))
        }
        return DDPMSchedule(alphaBars: bars)
    }

    /// Timesteps from `start` down to 0 in steps of `stride` (0 always included), as the course strides them.
    public func stridedTimesteps(from start: Int? = nil, stride step: Int) -> [Int] {
        let top = start ?? maxTimestep
        var list = Array(Swift.stride(from: top, through: 0, by: -max(step, 1)))
        if list.last != 0 { list.append(0) }
        return list
    }
}
