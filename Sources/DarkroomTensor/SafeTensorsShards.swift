import Foundation

/// Where named tensors come from: one safetensors file, or the shards of one model.
public protocol SafeTensorsSource: AnyObject, Sendable {
    /// The file, or the index file of shards (for error messages).
    var path: String { get }
    /// Tensor descriptions by name.
    var entries: [String: SafeTensorsFile.Entry] { get }
    /// The tensor as Float32.
    func tensor(_ name: String) throws -> Tensor
    /// The tensor as a weight that keeps 16-bit values in 16 bits.
    func weight(_ name: String) throws -> WeightTensor
}

extension SafeTensorsSource {
    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }
}

/// A model's weights split over several safetensors files, as transformers and diffusers save large models: an index
/// JSON (`{"weight_map": {tensor: file}}`) beside `…-0000K-of-0000N.safetensors` shards, each memory-mapped.
public final class SafeTensorsShards: SafeTensorsSource, @unchecked Sendable {
    // @unchecked: immutable after init; the files are themselves Sendable.
    public let path: String
    public let entries: [String: SafeTensorsFile.Entry]
    private let fileOf: [String: SafeTensorsFile]

    /// Opens the index at `indexPath` and every shard it names (in the same folder), checking that each tensor is in
    /// the shard the index says.
    public init(indexPath: String) throws {
        path = indexPath
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw TensorError.malformedFile(path: indexPath, tensor: nil, reason: "cannot read the shard index")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let map = object["weight_map"] as? [String: String] else {
            throw TensorError.malformedFile(path: indexPath, tensor: nil, reason: "not a shard index: needs a \"weight_map\" object of tensor → file")
        }
        let folder = (indexPath as NSString).deletingLastPathComponent
        var files: [String: SafeTensorsFile] = [:]
        for name in Set(map.values).sorted() {
            guard !name.contains("/"), name != "..", name.hasSuffix(".safetensors") else {
                throw TensorError.malformedFile(path: indexPath, tensor: nil, reason: "weight_map names \"\(name)\", not a .safetensors file in this folder")
            }
            let shard = (folder as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: shard) else {
                throw TensorError.malformedFile(path: shard, tensor: nil, reason: "missing: the shard index \((indexPath as NSString).lastPathComponent) names it")
            }
            files[name] = try SafeTensorsFile(path: shard)
        }
        var entries: [String: SafeTensorsFile.Entry] = [:], fileOf: [String: SafeTensorsFile] = [:]
        for (tensor, name) in map {
            let file = files[name]!
            guard let entry = file.entries[tensor] else {
                throw TensorError.malformedFile(path: file.path, tensor: tensor, reason: "missing: the shard index says this shard holds it")
            }
            entries[tensor] = entry
            fileOf[tensor] = file
        }
        self.entries = entries
        self.fileOf = fileOf
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let file = fileOf[name] else { throw TensorError.missingTensor(path: path, name: name) }
        return try file.tensor(name)
    }

    public func weight(_ name: String) throws -> WeightTensor {
        guard let file = fileOf[name] else { throw TensorError.missingTensor(path: path, name: name) }
        return try file.weight(name)
    }
}

extension SafeTensorsShards {
    /// The weights transformers saved in `folder` as `model`: `model.safetensors.index[.VARIANT].json` with its shards,
    /// else `model[.VARIANT].safetensors`; variants in the order given (nil is the plain name). Nil when none is there.
    public static func open(folder: String, stem: String = "model", variants: [String?]) throws -> SafeTensorsSource? {
        for variant in variants {
            let suffix = variant.map { ".\($0)" } ?? ""
            let index = (folder as NSString).appendingPathComponent("\(stem).safetensors.index\(suffix).json")
            if FileManager.default.fileExists(atPath: index) { return try SafeTensorsShards(indexPath: index) }
            let single = (folder as NSString).appendingPathComponent("\(stem)\(suffix).safetensors")
            if FileManager.default.fileExists(atPath: single) { return try SafeTensorsFile(path: single) }
        }
        return nil
    }
}
