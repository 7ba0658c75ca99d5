import DarkroomTensor

/// Hands a model its tensors by name and expected shape, collecting every missing, misshaped and unused tensor.
///
/// Loading code asks for each tensor with the shape it expects; `finish()` then throws one error listing all
/// problems, so a user sees the whole mismatch at once. The same code path builds models with random weights.
public final class WeightReader {
    private enum Source {
        case file(any SafeTensorsSource)
        case random(RandomSource)
    }

    private var source: Source
    private var taken: Set<String> = []
    private var missing: [String] = []
    private var misshaped: [String] = []
    private let ignoredSuffixes: [String]

    /// Reads from a safetensors file; tensors ending in an ignored suffix may stay unused.
    public init(file: any SafeTensorsSource, ignoredSuffixes: [String] = ["num_batches_tracked"]) {
        source = .file(file)
        self.ignoredSuffixes = ignoredSuffixes
    }

    /// Invents weights as PyTorch initialises fresh layers: weights and biases uniform in ±1/√fan-in (fan-in of the
    /// layer's weight: dimension 1 times the kernel), norm scales 1, norm shifts 0, running mean 0, running variance 1.
    public init(randomSeed: UInt64) {
        source = .random(RandomSource(seed: randomSeed))
        ignoredSuffixes = []
    }

    /// Fan-in of the last weight handed out in random mode; its bias uses the same bound.
    private var lastFanIn = 1

    /// Every name handed out so far, in order of first request.
    public private(set) var requested: [(name: String, shape: [Int])] = []

    /// The tensor `name` with the given shape (a zero placeholder, recorded as a problem, when it does not fit).
    public func take(_ name: String, _ shape: [Int]) -> Tensor {
        taken.insert(name)
        requested.append((name, shape))
        switch source {
        case .random(var rng):
            let t = randomTensor(name, shape, &rng)
            source = .random(rng)
            return t
        case .file(let file):
            guard let entry = file.entries[name] else {
                missing.append(name)
                return Tensor(zeros: shape)
            }
            guard entry.shape == shape else {
                misshaped.append("\(name) is \(entry.shape), expected \(shape)")
                return Tensor(zeros: shape)
            }
            do {
                return try file.tensor(name)
            } catch {
                misshaped.append("\(error)")
                return Tensor(zeros: shape)
            }
        }
    }

    /// The tensor `name` as a weight that keeps a file's half precision (see `WeightTensor`); checked like `take`.
    public func takeWeight(_ name: String, _ shape: [Int]) -> WeightTensor {
        guard case .file(let file) = source, let entry = file.entries[name], entry.shape == shape, entry.dtype == .f16 || entry.dtype == .bf16,
              let weight = try? file.weight(name) else {
            return WeightTensor(take(name, shape))
        }
        taken.insert(name)
        requested.append((name, shape))
        return weight
    }

    /// Throws `ModelError.checkpointMismatch` if any tensor was missing, misshaped or left unused.
    public func finish() throws {
        guard case .file(let file) = source else { return }
        let unexpected = file.names.filter { name in
            !taken.contains(name) && !ignoredSuffixes.contains(where: { name.hasSuffix($0) })
        }
        if !missing.isEmpty || !misshaped.isEmpty || !unexpected.isEmpty {
            throw ModelError.checkpointMismatch(path: file.path, missing: missing, unexpected: unexpected, misshaped: misshaped)
        }
    }

    private func randomTensor(_ name: String, _ shape: [Int], _ rng: inout RandomSource) -> Tensor {
        if name.hasSuffix("running_var") || name.hasSuffix("norm.weight") { return Tensor(repeating: 1, shape: shape) }
        if name.hasSuffix("running_mean") || name.hasSuffix("norm.bias") { return Tensor(zeros: shape) }
        if shape.count > 1 { lastFanIn = shape.dropFirst().reduce(1, *) }
        let bound = 1 / Float(max(lastFanIn, 1)).squareRoot()
        let t = rng.uniform(shape)
        Elementwise.affineInPlace(t, scale: 2 * bound, shift: -bound)
        return t
    }
}
