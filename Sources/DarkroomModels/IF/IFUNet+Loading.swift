import Foundation
import DarkroomTensor

extension IFUNet {
    /// Weight file names diffusers writes, in order of preference.
    public static let weightFileNames = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]

    /// The folder holding the UNet's `config.json`: `folder/unet` for a pipeline folder, else `folder` itself.
    public static func unetFolder(in folder: String) -> String {
        let nested = (folder as NSString).appendingPathComponent("unet")
        return FileManager.default.fileExists(atPath: (nested as NSString).appendingPathComponent("config.json")) ? nested : folder
    }

    /// True when `folder` looks like a diffusers IF stage I folder (a pipeline folder or its `unet/`).
    public static func isIFFolder(_ folder: String) -> Bool {
        let config = (unetFolder(in: folder) as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: config),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return false }
        return object["_class_name"] as? String == "UNet2DConditionModel" || object["down_block_types"] != nil
    }

    /// Loads a diffusers IF UNet (stage I or II): `unet/config.json` plus `diffusion_pytorch_model.safetensors`, or
    /// its shards (`diffusion_pytorch_model.safetensors.index.json`), or the `.fp16` variants of either, memory-mapped;
    /// `folder` may be the pipeline folder or its `unet/`.
    public convenience init(folder: String) throws {
        let unet = IFUNet.unetFolder(in: folder)
        let config = try IFUNetConfig.load(path: (unet as NSString).appendingPathComponent("config.json"))
        guard let source = try SafeTensorsShards.open(folder: unet, stem: "diffusion_pytorch_model", variants: [nil, "fp16"]) else {
            throw ModelError.badConfig(path: unet, key: nil,
                                       reason: "no weights: expected \(IFUNet.weightFileNames.joined(separator: " or ")), or diffusion_pytorch_model.safetensors.index.json with its shards (PyTorch .bin files are not read; convert them with safetensors)")
        }
        let reader = WeightReader(file: source)
        self.init(config: config, reader: reader, weightsPath: source.path)
        try reader.finish()
    }
}
