import Foundation
import DarkroomDiffusion
import DarkroomTensor

/// DeepFloyd IF stage I as a `Denoiser`: pixels in [−1, 1], the cosine schedule, learned-range variance, the
/// course's loop (stride 30 from 990, noise added on the last step), prompts looked up as T5 embeddings.
///
/// Each distinct prompt's text context (pooled term, per-layer text keys and values) is computed once and reused
/// at every step.
public final class IFDenoiser: Denoiser {
    public let unet: IFUNet
    public let name: String
    public let prompts: PromptEmbeddings
    public let schedule = DDPMSchedule.cosine()
    private let contexts = IFTextContextCache()
    /// Stage II, when the model's config.json entry names one (`upscaler`).
    public let upscaler: Upscaler?

    public init(_ unet: IFUNet, prompts: PromptEmbeddings, name: String = "deepfloyd-if", upscaler: Upscaler? = nil) {
        self.unet = unet
        self.prompts = prompts
        self.name = name
        self.upscaler = upscaler
    }

    public var channels: Int { unet.config.inChannels }
    public var imageSize: Int { unet.config.sampleSize }
    public var pixelRange: ClosedRange<Float> { -1...1 }
    public var stageName: String { "stage I" }
    public var prediction: PredictionKind { .epsilon }
    public var variance: VarianceKind { .learnedRange }
    public var defaultTimesteps: [Int] { schedule.stridedTimesteps(from: 990, stride: 30) }
    public var noiseOnFinalStep: Bool { true }
    /// The course's γ = 7 for IF.
    public var defaultGuidance: Float { 7 }

    /// "" is unconditional (`.none`; the sampler then feeds the "" embedding); any other prompt must have an embedding.
    public func conditioning(forPrompt prompt: String) throws -> Conditioning {
        if PromptEmbeddings.normalized(prompt).isEmpty {
            _ = try prompts.embedding(for: "")
            return .none
        }
        return .embedding(try prompts.embedding(for: prompt))
    }

    public func predict(_ x: Tensor, t: Double, conditioning: [Conditioning]) throws -> Prediction {
        let batch = x.shape[0]
        guard conditioning.count == batch else {
            throw ModelError.badInput("\(conditioning.count) conditionings for a batch of \(batch)")
        }
        let textContexts = try conditioning.map { c -> IFTextContext in
            switch c {
            case .none: return try context(for: try prompts.embedding(for: ""))
            case .embedding(let e): return try context(for: e)
            case .classIndex: throw ModelError.badInput("\(name) takes prompt embeddings, not classes")
            }
        }
        let out = try unet.forward(x, timesteps: Array(repeating: Float(t), count: batch), contexts: textContexts)
        return Prediction(output: IFDenoiser.channels(out, 0..<channels), variance: IFDenoiser.channels(out, channels..<(2 * channels)))
    }

    private func context(for embedding: Tensor) throws -> IFTextContext {
        try contexts.context(for: embedding, unet: unet)
    }

    /// Channels `range` of `x` [B,C,H,W] as a new tensor.
    static func channels(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let (batch, c) = (x.shape[0], x.shape[1])
        let plane = x.shape[2] * x.shape[3]
        let out = Tensor(uninitialized: [batch, range.count, x.shape[2], x.shape[3]])
        for b in 0..<batch {
            (out.pointer + b * range.count * plane).update(from: x.pointer + (b * c + range.lowerBound) * plane, count: range.count * plane)
        }
        return out
    }
}

extension IFDenoiser: PromptEncoding {
    /// Every prompt and "" must be known or encodable; notes say which prompts T5 reads only in part.
    public func checkPrompts(_ list: [String]) throws -> [String] {
        try (list + [""]).compactMap { try prompts.check($0) }
    }

    public func encodeMissing(_ list: [String], progress: ((EncodingProgress) -> Void)?, shouldStop: (() -> Bool)?) throws -> [String] {
        try prompts.encodeMissing(list + [""], progress: progress, shouldStop: shouldStop)
    }
}
