import Foundation
import DarkroomDiffusion
import DarkroomTensor

/// DeepFloyd IF stage II as an `Upscaler`: 64² stage I images to 256², with the stage I model's prompt embeddings.
///
/// The config is read and checked when the model is loaded; the network itself is built at the first upscale and
/// kept, so a daemon that never upscales holds none of it (IF-II-L's Winograd weights alone are about 2 GB).
public final class IFUpscaler: Upscaler, @unchecked Sendable {
    // @unchecked: `network` is only touched under `lock`; the rest is immutable.
    /// The stage II folder (a pipeline folder or its `unet/`).
    public let folder: String
    public let config: IFUNetConfig
    public let name: String
    public let prompts: PromptEmbeddings
    public let schedule = DDPMSchedule.cosine()
    private var network: IFUNet?
    private let lock = NSLock()
    private let contexts = IFTextContextCache()

    /// Checks that `folder` holds a stage II UNet whose text width is the prompts' and whose weights are there.
    public init(folder: String, prompts: PromptEmbeddings, name: String) throws {
        let unet = IFUNet.unetFolder(in: folder)
        let configPath = (unet as NSString).appendingPathComponent("config.json")
        config = try IFUNetConfig.load(path: configPath)
        guard config.isSuperResolution, config.hasClassEmbedding else {
            throw ModelError.badConfig(path: configPath, key: "in_channels",
                                       reason: "this is not a stage II (super-resolution) UNet: it takes \(config.inChannels) channels and \(config.hasClassEmbedding ? "a" : "no") noise-level class embedding; stage II takes \(2 * config.imageChannels) and class_embed_type \"timestep\"")
        }
        guard config.encoderHidDim == prompts.width else {
            throw ModelError.badConfig(path: configPath, key: "encoder_hid_dim",
                                       reason: "stage II reads text states of width \(config.encoderHidDim), but stage I's prompt embeddings are \(prompts.width) wide")
        }
        guard try SafeTensorsShards.open(folder: unet, stem: "diffusion_pytorch_model", variants: [nil, "fp16"]) != nil else {
            throw ModelError.badConfig(path: unet, key: nil, reason: "no weights: expected \(IFUNet.weightFileNames.joined(separator: " or ")), or diffusion_pytorch_model.safetensors.index.json with its shards")
        }
        self.folder = folder
        self.prompts = prompts
        self.name = name
    }

    /// The stage II network, loaded on first use.
    public func unet() throws -> IFUNet {
        try lock.withLock {
            if let network { return network }
            let loaded = try IFUNet(folder: folder)
            network = loaded
            return loaded
        }
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
        let unet = try self.unet()
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
