import Foundation

/// A discrete noise schedule: β₁…β_T and ᾱ_t = Π_{s≤t} (1 − β_s), indexed so that ᾱ₀ = 1 (no noise).
///
/// The small UNet uses the linear schedule (β from 1e-4 to 0.02, T = 300); DeepFloyd IF uses the cosine one.
public struct DDPMSchedule: Sendable, Equatable {
    /// β_t for t = 1…T, stored at index t (index 0 holds 0).
    public let betas: [Double]
    /// ᾱ_t for t = 0…T (ᾱ₀ = 1).
    public let alphaBars: [Double]

    /// Number of diffusion steps T.
    public var timesteps: Int { betas.count - 1 }

    /// Builds a schedule from β₁…β_T.
    public init(betas b: [Double]) {
        betas = [0] + b
        var bars = [1.0]
        for beta in b { bars.append(bars.last! * (1 - beta)) }
        alphaBars = bars
    }

    /// β linear from `start` to `end` over `timesteps` steps (PyTorch `linspace`, computed in Double).
    public static func linear(timesteps: Int, start: Double = 1e-4, end: Double = 0.02) -> DDPMSchedule {
        precondition(timesteps >= 1)
        if timesteps == 1 { return DDPMSchedule(betas: [start]) }
        return DDPMSchedule(betas: (0..<timesteps).map { start + (end - start) * Double($0) / Double(timesteps - 1) })
    }

    /// α_t = 1 − β_t.
    public func alpha(_ t: Int) -> Double { 1 - betas[t] }
}
