import Foundation
import DarkroomDiffusion
import DarkroomModels

/// Loads denoisers from checkpoint folders once and keeps them for later jobs.
public final class ModelLibrary {
    private var loaded: [String: Denoiser] = [:]

    public init() {}

    /// The denoiser in `folder` (a small-UNet checkpoint: config.json + model.safetensors).
    public func denoiser(at folder: String, name: String) throws -> Denoiser {
        if let d = loaded[folder] { return d }
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw JobError(field: "model", "model '\(name)': no config.json in \(folder)")
        }
        let d = try TinyUNetDenoiser(TinyUNet(checkpoint: folder), name: name)
        loaded[folder] = d
        return d
    }
}
