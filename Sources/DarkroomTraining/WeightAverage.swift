import DarkroomTensor

/// An exponential moving average of a model's weights: the model a run ships.
///
/// Every state-dict tensor is averaged (parameters and BatchNorm running statistics alike), with diffusers'
/// warm-up: after update n the decay is min(decay, (1 + n) / (10 + n)), so the first updates follow the live
/// weights closely. The average is a pure function of the sequence of live weights, so a resumed run that restores
/// it continues bit for bit.
public final class WeightAverage {
    public let decay: Double
    /// Updates made so far.
    public private(set) var updates: Int
    /// The averaged tensors by state-dict name.
    public private(set) var tensors: [String: Tensor]

    /// Starts the average at the model's current weights.
    public init(_ model: TrainableUNet, decay: Double) {
        self.decay = decay
        updates = 0
        tensors = model.stateDict().tensors.mapValues { $0.copy() }
    }

    /// Restores an average saved by `saved(prefix:)`.
    public init(_ model: TrainableUNet, decay: Double, updates: Int, file: SafeTensorsFile, prefix: String) throws {
        self.decay = decay
        self.updates = updates
        var tensors: [String: Tensor] = [:]
        for (name, live) in model.stateDict().tensors {
            let saved = try file.tensor(prefix + name)
            guard saved.count == live.count else {
                throw TrainingError.badCheckpoint("\(file.path): the average of \(name) does not match the model")
            }
            tensors[name] = saved
        }
        self.tensors = tensors
    }

    /// The decay the next update uses.
    public var currentDecay: Float { Float(min(decay, Double(1 + updates) / Double(10 + updates))) }

    /// average ← d·average + (1 − d)·live, for every tensor.
    public func update(from model: TrainableUNet) {
        let d = currentDecay
        for (name, live) in model.stateDict().tensors {
            guard let average = tensors[name] else { continue }
            let (a, w) = (average.pointer, live.pointer)
            for i in 0..<live.count { a[i] = d * a[i] + (1 - d) * w[i] }
        }
        updates += 1
    }

    /// The tensors under `prefix` + name, for a checkpoint.
    public func saved(prefix: String) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: tensors.map { (prefix + $0.key, $0.value) })
    }
}
