import Foundation
import DarkroomModels
import DarkroomTensor

/// Where a run stands: saved with the weights and Adam's moments so that training resumes exactly.
public struct TrainingState: Codable, Equatable {
    public var options: TrainingOptions
    /// Epoch in progress (0-based) and the next step within it.
    public var epoch: Int
    public var step: Int
    public var adamStep: Int
    /// Mean training loss of every finished epoch.
    public var epochLosses: [Double]
}

/// Reads and writes `<out>/checkpoint/` (`model.safetensors`, `optimizer.safetensors`, `state.json`,
/// `config.json`) and the finished model folder `<out>/model/`.
public enum TrainingCheckpoint {
    public static func folder(_ out: String) -> String { (out as NSString).appendingPathComponent("checkpoint") }

    /// Writes the checkpoint; every file goes to a temporary name first and the state file is renamed last, so an
    /// interrupted save leaves the previous checkpoint usable.
    public static func save(_ model: TrainableUNet, state: TrainingState, out: String) throws {
        let dir = folder(out)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try saveModel(model, to: dir)
        var moments: [String: Tensor] = [:]
        for p in model.parameters {
            moments["m." + p.name] = p.firstMoment
            moments["v." + p.name] = p.secondMoment
        }
        try SafeTensorsWriter.write(moments, to: (dir as NSString).appendingPathComponent("optimizer.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("state.json")), options: .atomic)
    }

    /// Writes `config.json` and `model.safetensors` into `dir`: a checkpoint folder that `TinyUNet` loads.
    public static func saveModel(_ model: TrainableUNet, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (tensors, counters) = model.stateDict()
        try SafeTensorsWriter.write(tensors, integers: counters, to: (dir as NSString).appendingPathComponent("model.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(model.config).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("config.json")), options: .atomic)
    }

    /// Loads the checkpoint in `out`, or nil when there is none.
    public static func load(out: String) throws -> (TrainableUNet, TrainingState)? {
        let dir = folder(out)
        let statePath = (dir as NSString).appendingPathComponent("state.json")
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: data) } catch {
            throw TrainingError.badCheckpoint("\(statePath): \(error)")
        }
        let config = try TinyUNetConfig.load(path: (dir as NSString).appendingPathComponent("config.json"))
        let model = try TrainableUNet(config: config, weights: (dir as NSString).appendingPathComponent("model.safetensors"))
        let moments = try SafeTensorsFile(path: (dir as NSString).appendingPathComponent("optimizer.safetensors"))
        for p in model.parameters {
            let m = try moments.tensor("m." + p.name), v = try moments.tensor("v." + p.name)
            guard m.count == p.value.count, v.count == p.value.count else {
                throw TrainingError.badCheckpoint("\(moments.path): moments of \(p.name) do not match the model")
            }
            p.firstMoment.pointer.update(from: m.pointer, count: m.count)
            p.secondMoment.pointer.update(from: v.pointer, count: v.count)
        }
        return (model, state)
    }
}
