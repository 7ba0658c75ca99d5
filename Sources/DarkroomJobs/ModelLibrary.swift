import Foundation
import DarkroomDiffusion
import DarkroomModels
import DarkroomText
import DarkroomSupport

/// Loads denoisers from checkpoint folders once and keeps them for later jobs.
public final class ModelLibrary {
    private var loaded: [String: Denoiser] = [:]
    /// Intake (the watcher's thread) and the worker share one library: loads happen one at a time.
    private let lock = NSLock()
    /// Where DeepFloyd IF models keep the prompt embeddings jobs use (the daemon: its SQLite database).
    public let embeddingCache: PromptEmbeddingCache?

    public init(embeddingCache: PromptEmbeddingCache? = nil) {
        self.embeddingCache = embeddingCache
    }

    /// The name of the prompt-embedding file an IF model folder holds by default.
    public static let defaultPromptEmbeddings = "prompt_embeddings.safetensors"

    /// The denoiser in `folder`: a small-UNet checkpoint (config.json + model.safetensors) or a diffusers DeepFloyd IF
    /// stage I folder. An IF model's prompts come from the cache, `options.promptEmbeddings` (default:
    /// prompt_embeddings.safetensors inside it) and its T5 (`tokenizer/` and `text_encoder/` inside it unless the
    /// options name them), whichever has them first. `options.upscaler` names its stage II folder, checked here and
    /// loaded at the first upscale.
    public func denoiser(at folder: String, name: String, options: ModelOptions = ModelOptions()) throws -> Denoiser {
        lock.lock(); defer { lock.unlock() }
        // Two entries may share a folder with different options (one with an upscaler, one without).
        let key = [folder, options.promptEmbeddings, options.textEncoder, options.tokenizer, options.upscaler].map { $0 ?? "" }.joined(separator: "\u{0}")
        if let d = loaded[key] { return d }
        let d: Denoiser
        if IFUNet.isIFFolder(folder) {
            let unet = try IFUNet(folder: folder)
            guard !unet.config.isSuperResolution else {
                throw JobError(field: "models.\(name)", "\(folder) is a DeepFloyd IF stage II (upscaler) folder: name it as \"upscaler\" of a stage I model's entry, not as a model")
            }
            let file = options.promptEmbeddings ?? (folder as NSString).appendingPathComponent(ModelLibrary.defaultPromptEmbeddings)
            let text = try ModelLibrary.textEncoder(of: folder, options: options, width: unet.config.encoderHidDim, model: name)
            let prompts = try PromptEmbeddings(path: file, width: unet.config.encoderHidDim, cache: embeddingCache,
                                               textEncoder: text?.location, tokenizer: text?.tokenizer)
            var upscaler: IFUpscaler?
            if let stage2 = options.upscaler {
                do {
                    upscaler = try IFUpscaler(folder: stage2, prompts: prompts, name: "\(name) stage II")
                } catch {
                    throw JobError(field: "models.\(name).upscaler", "\(error)")
                }
                let (small, large) = (unet.config.sampleSize, upscaler!.outputSize)
                guard large > small, large % small == 0 else {
                    throw JobError(field: "models.\(name).upscaler", "stage II makes \(large)×\(large) images from stage I's \(small)×\(small); its sample_size must be a larger multiple of stage I's")
                }
            }
            d = IFDenoiser(unet, prompts: prompts, name: name, upscaler: upscaler)
        } else {
            if options.upscaler != nil {
                throw JobError(field: "models.\(name).upscaler", "only DeepFloyd IF models take an upscaler; \(folder) is a small-UNet checkpoint")
            }
            let configPath = (folder as NSString).appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: configPath) else {
                throw JobError(field: "model", "model '\(name)': no config.json in \(folder)")
            }
            d = try TinyUNetDenoiser(TinyUNet(checkpoint: folder), name: name)
        }
        loaded[key] = d
        return d
    }

    /// The T5 side of an IF model, checked (config, tokenizer, weight files: memory-mapped, not read, then released:
    /// the encoder is loaded again only when a prompt needs encoding), with its tokenizer, which intake keeps using.
    /// Nil when the model has none, or when folders found by their default names cannot load.
    static func textEncoder(of folder: String, options: ModelOptions, width: Int, model: String) throws -> (location: T5TextEncoder.Location, tokenizer: T5Tokenizer)? {
        let named = options.textEncoder != nil || options.tokenizer != nil
        guard let location = T5TextEncoder.Location.find(in: folder, tokenizer: options.tokenizer, encoder: options.textEncoder) else {
            if named {
                throw JobError(field: "models.\(model)", "the text encoder needs \(options.tokenizer ?? folder + "/tokenizer")/spiece.model and \(options.textEncoder ?? folder + "/text_encoder")/config.json; one is missing")
            }
            return nil
        }
        let t5: T5TextEncoder
        do {
            t5 = try T5TextEncoder(location)
        } catch where !named {
            // Folders found by their default names but unusable (say, PyTorch .bin weights only): the model still runs
            // on the prompts its embeddings file and cache hold.
            FileHandle.standardError.write(Data("warning: model '\(model)': its T5 in \(location.encoder) cannot be used, so only prompts already embedded work: \(error)\n".utf8))
            return nil
        }
        try t5.requireWidth(width)
        return (location, t5.tokenizer)
    }
}
