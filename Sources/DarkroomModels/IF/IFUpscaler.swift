import Foundation
import DarkroomDiffusion
import DarkroomTensor

/// DeepFloyd IF stage II as an `Upscaler`: 64² stage I images to 256², with the stage I model's prompt embeddings.
///
/// The network is built when the model is loaded, so a wrong folder is an error then, not after a job's stage I. It
/// costs little: its weights stay memory-mapped (fp16 stays 16-bit) and its Winograd convolutions transform them at
/// each call instead of keeping them.
public final class IFUpscaler: Upscaler, @unchecked Sendable {
    // @unchecked: immutable after init; the context cache locks itself.
    /// The stage II folder (a pipeline folder or its `unet/`).
    public let folder: String
    public let config: IFUNetConfig
    public let name: String
    public let prompts: PromptEmbeddings
    public let schedule = DDPMSchedule.cosine()
    public let unet: IFUNet
    private let contexts = IFTextContextCache()

    /// Loads the stage II UNet in `folder`, checking that it is one and that its text width is the prompts'.
    public init(folder: String, prompts: PromptEmbeddings, name: String) throws {
        let configPath = (IFUNet.unetFolder(in: folder) as NSString).appendingPathComponent("config.json")
        config = try IFUNetConfig.load(path: configPath)
        guard config.isSuperResolution, config.hasClassEmbedding else {
            throw ModelError.badConfig(path: configPath, key: "in_channels",
                                       reason: "this is not a stage II (super-resolution) UNet: it takes \(config.inChannels) channels and \(config.hasClassEmbedding ? "a" : "no") noise-level class embedding; stage II takes \(2 * config.imageChannels) and class_embed_type \"timestep\"")
        }
        guard config.encoderHidDim == prompts.width else {
            throw ModelError.badConfig(path: configPath, key: "encoder_hid_dim",
                                       reason: "stage II reads text states of width \(config.encoderHidDim), but stage I's prompt embeddings are \(prompts.width) wide")
        }
        self.unet = try IFUNet(folder: folder)
        self.folder = folder
        self.prompts = prompts
        self.name = name
    }

    public var channels: Int { config.imageChannels }
    public var outputSize: Int { config.sampleSize }
    public var pixelRange: ClosedRange<Float> { -1...1 }

    /// "" is unconditional (`.none`, fed as the "" embedding); any other prompt must have an embedding.
    public func conditioning(forPrompt prompt: String) throws -> Conditioning {
        if PromptEmbeddings.normalized(prompt).isEmpty {
            _ = try prompts.embedding(for: "")
            return .none
        }
        return .embedding(try prompts.embedding(for: prompt))
    }

    public func predict(_ x: Tensor, lowResolution: Tensor, t: Int, noiseLevel: Int, conditioning: [Conditioning]) throws -> Prediction {
        let batch = x.shape[0]
        guard conditioning.count == batch, lowResolution.shape == x.shape else {
            throw ModelError.badInput("stage II: \(conditioning.count) conditionings and a low-resolution batch \(lowResolution.shape) for x_t \(x.shape)")
        }
        let textContexts = try conditioning.map { c -> IFTextContext in
            switch c {
            case .none: return try contexts.context(for: try prompts.embedding(for: ""), unet: unet)
            case .embedding(let e): return try contexts.context(for: e, unet: unet)
            case .classIndex: throw ModelError.badInput("\(name) takes prompt embeddings, not classes")
            }
        }
        let out = try unet.forward(try Elementwise.concatChannels([x, lowResolution]), timesteps: Array(repeating: Float(t), count: batch),
                                   classLabels: Array(repeating: Float(noiseLevel), count: batch), contexts: textContexts)
        let c = channels
        return Prediction(output: IFDenoiser.channels(out, 0..<c), variance: IFDenoiser.channels(out, c..<(2 * c)))
    }
}
