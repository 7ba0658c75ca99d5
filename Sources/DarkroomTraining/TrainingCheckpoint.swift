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
    /// Updates of the weight average so far; nil for runs without one.
    public var averageUpdates: Int?
    /// Mean training loss of every finished epoch.
    public var epochLosses: [Double]
}

/// Reads and writes `<out>/checkpoint/` (`model.safetensors` with the live weights, `optimizer.safetensors`,
/// `average.safetensors` when the run averages its weights, `state.json`, `config.json`) and the finished model
/// folder `<out>/model/` (the averaged weights when there is an average: the model a run ships).
public enum TrainingCheckpoint {
    public static func folder(_ out: String) -> String { (out as NSString).appendingPathComponent("checkpoint") }

    /// Where a save writes before it replaces the checkpoint, and where the replaced one waits to be removed.
    static func nextFolder(_ out: String) -> String { folder(out) + ".next" }
    static func previousFolder(_ out: String) -> String { folder(out) + ".previous" }

    /// Writes the checkpoint as a whole: every file into `checkpoint.next/` (the state file last), then the current
    /// checkpoint is renamed to `checkpoint.previous/` and the new one into its place. A save interrupted at any point
    /// leaves one complete checkpoint that `load` finds: the current one, the next one once its state file exists, or
    /// the previous one.
    public static func save(_ model: TrainableUNet, average: WeightAverage?, state: TrainingState, out: String) throws {
        let fm = FileManager.default
        let dir = nextFolder(out)
        if fm.fileExists(atPath: dir) { try fm.removeItem(atPath: dir) }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try saveModel(model, average: nil, to: dir)
        if let average {
            try SafeTensorsWriter.write(average.saved(prefix: averagePrefix), to: (dir as NSString).appendingPathComponent("average.safetensors"))
        }
        var moments: [String: Tensor] = [:]
        for p in model.parameters {
            moments["m." + p.name] = p.firstMoment
            moments["v." + p.name] = p.secondMoment
        }
        try SafeTensorsWriter.write(moments, to: (dir as NSString).appendingPathComponent("optimizer.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("state.json")), options: .atomic)
        let (current, previous) = (folder(out), previousFolder(out))
        if fm.fileExists(atPath: previous) { try fm.removeItem(atPath: previous) }
        if fm.fileExists(atPath: current) { try fm.moveItem(atPath: current, toPath: previous) }
        try fm.moveItem(atPath: dir, toPath: current)
        if fm.fileExists(atPath: previous) { try fm.removeItem(atPath: previous) }
    }

    static let averagePrefix = "ema."

    /// Writes `config.json` and `model.safetensors` into `dir`: a checkpoint folder that `TinyUNet` loads, with the
    /// averaged weights when `average` is given and the live ones otherwise.
    public static func saveModel(_ model: TrainableUNet, average: WeightAverage? = nil, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var (tensors, counters) = model.stateDict()
        if let average { tensors = average.tensors }
        try SafeTensorsWriter.write(tensors, integers: counters, to: (dir as NSString).appendingPathComponent("model.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(model.config).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("config.json")), options: .atomic)
    }

    /// Loads the checkpoint in `out`, or nil when there is none.
    public static func load(out: String) throws -> (TrainableUNet, WeightAverage?, TrainingState)? {
        // The first complete checkpoint of: the current one, a next one whose save stopped before taking its place,
        // the previous one (see `save`).
        let complete = [folder(out), nextFolder(out), previousFolder(out)].first {
            FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("state.json"))
        }
        guard let dir = complete else { return nil }
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
        var average: WeightAverage?
        if let decay = state.options.emaDecay, decay > 0 {
            let path = (dir as NSString).appendingPathComponent("average.safetensors")
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainingError.badCheckpoint("\(path) is missing: the run averages its weights (EMA \(decay))")
            }
            average = try WeightAverage(model, decay: decay, updates: state.averageUpdates ?? 0,
                                        file: SafeTensorsFile(path: path), prefix: averagePrefix)
        }
        return (model, average, state)
    }
}
