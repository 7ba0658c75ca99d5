import Foundation
import DarkroomDiffusion
import DarkroomModels

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
    /// stage I folder, whose prompts come from `promptEmbeddings` (default: prompt_embeddings.safetensors inside it).
    public func denoiser(at folder: String, name: String, promptEmbeddings: String? = nil) throws -> Denoiser {
        lock.lock(); defer { lock.unlock() }
        if let d = loaded[folder] { return d }
        let d: Denoiser
        if IFUNet.isIFFolder(folder) {
            let unet = try IFUNet(folder: folder)
            let file = promptEmbeddings ?? (folder as NSString).appendingPathComponent(ModelLibrary.defaultPromptEmbeddings)
            let prompts = try PromptEmbeddings(path: file, width: unet.config.encoderHidDim, cache: embeddingCache)
            d = IFDenoiser(unet, prompts: prompts, name: name)
        } else {
            let configPath = (folder as NSString).appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: configPath) else {
                throw JobError(field: "model", "model '\(name)': no config.json in \(folder)")
            }
            d = try TinyUNetDenoiser(TinyUNet(checkpoint: folder), name: name)
        }
        loaded[folder] = d
        return d
    }
}
