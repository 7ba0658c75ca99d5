import DarkroomDiffusion
import DarkroomTensor

/// The small UNet as a `Denoiser`: prompts select classes, t is fed as t/T (DDPM) or as is (flow, and σ for a
/// single-step denoiser).
public final class TinyUNetDenoiser: Denoiser {
    public let unet: TinyUNet
    public let name: String
    public let schedule: DDPMSchedule
    private let classPrompt: ClassPrompt

    /// The noise strided steps add: the config's `variance` unless `variance` overrides it.
    public let variance: VarianceKind

    public init(_ unet: TinyUNet, name: String = "tiny-unet", variance: VarianceKind? = nil) throws {
        guard unet.config.objective != "pure-noise" else {
            throw ModelError.badInput("\(name) is the course's pure-noise denoiser (objective \"pure-noise\"): it maps noise to the data's mean, which no job mode uses")
        }
        self.unet = unet
        self.name = name
        let c = unet.config
        schedule = .linear(timesteps: c.timesteps, start: c.betaStart, end: c.betaEnd)
        classPrompt = ClassPrompt(classes: c.classes)
        guard let chosen = variance ?? VarianceKind(rawValue: c.variance), chosen != .learnedRange else {
            throw ModelError.badInput("\(name): variance must be one of \(TinyUNetConfig.variances.joined(separator: ", ")) for a small UNet, not \(variance?.rawValue ?? c.variance)")
        }
        self.variance = chosen
    }

    public var channels: Int { unet.config.channels }
    public var imageSize: Int { unet.config.imageSize }
    public var pixelRange: ClosedRange<Float> { Float(unet.config.pixelRange[0])...Float(unet.config.pixelRange[1]) }
    public var prediction: PredictionKind {
        switch unet.config.objective {
        case "flow": return .flow
        case "denoise": return .cleanImage
        default: return .epsilon
        }
    }
    /// A single-step denoiser's σ: its config's `sigma`, else the course's 0.5 (the one place that default lives).
    public var trainingSigma: Double? { prediction == .cleanImage ? unet.config.sigma ?? 0.5 : nil }
    public var defaultGuidance: Float { Float(unet.config.defaultGuidance ?? 5) }
    public var defaultTimesteps: [Int] { Array(stride(from: schedule.maxTimestep, through: 0, by: -1)) }
    public var noiseOnFinalStep: Bool { false }
    /// The model's class names (empty for a time-only model).
    public var classes: [String] { unet.config.classes }

    public func conditioning(forPrompt prompt: String) throws -> Conditioning {
        try classPrompt.classIndex(for: prompt).map { .classIndex($0) } ?? .none
    }

    public func predict(_ x: Tensor, t: Double, conditioning: [Conditioning]) throws -> Prediction {
        let batch = x.shape[0]
        guard conditioning.count == batch else {
            throw ModelError.badInput("\(conditioning.count) conditionings for a batch of \(batch)")
        }
        let tValue = Float(prediction == .epsilon ? t / Double(schedule.maxTimestep) : t)
        let tt = Tensor(repeating: tValue, shape: [batch, 1])
        var c: Tensor?
        let k = unet.config.classCount
        if k > 0 {
            let onehot = Tensor(zeros: [batch, k])
            for (i, cond) in conditioning.enumerated() {
                switch cond {
                case .none: break
                case .classIndex(let j):
                    guard j >= 0, j < k else { throw ModelError.badInput("class \(j) outside 0..<\(k)") }
                    onehot[i, j] = 1
                case .embedding: throw ModelError.badInput("\(name) takes classes, not prompt embeddings")
                }
            }
            c = onehot
        }
        return Prediction(output: try unet.forward(x, t: tt, c: c))
    }
}
