import DarkroomTensor

/// Hands a model its tensors by name and expected shape, collecting every missing, misshaped and unused tensor.
///
/// Loading code asks for each tensor with the shape it expects; `finish()` then throws one error listing all
/// problems, so a user sees the whole mismatch at once. The same code path builds models with random weights.
public final class WeightReader {
    private enum Source {
        case file(SafeTensorsFile)
        case random(RandomSource)
    }

    private var source: Source
    private var taken: Set<String> = []
    private var missing: [String] = []
    private var misshaped: [String] = []
    private let ignoredSuffixes: [String]

    /// Reads from a safetensors file; tensors ending in an ignored suffix may stay unused.
    public init(file: SafeTensorsFile, ignoredSuffixes: [String] = ["num_batches_tracked"]) {
        source = .file(file)
        self.ignoredSuffixes = ignoredSuffixes
    }

    /// Invents weights: Gaussian/√fan-in for weights, zero biases, unit norm scales, mild running statistics.
    public init(randomSeed: UInt64) {
        source = .random(RandomSource(seed: randomSeed))
        ignoredSuffixes = []
    }

    /// Every name handed out so far, in order of first request.
    public private(set) var requested: [(name: String, shape: [Int])] = []

    /// The tensor `name` with the given shape (a zero placeholder, recorded as a problem, when it does not fit).
    public func take(_ name: String, _ shape: [Int]) -> Tensor {
        taken.insert(name)
        requested.append((name, shape))
        switch source {
        case .random(var rng):
            let t = WeightReader.randomTensor(name, shape, &rng)
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

    private static func randomTensor(_ name: String, _ shape: [Int], _ rng: inout RandomSource) -> Tensor {
        if name.hasSuffix("running_var") { return Tensor(repeating: 1, shape: shape) }
        if name.hasSuffix("running_mean") || name.hasSuffix("bias") { return Tensor(zeros: shape) }
        if name.hasSuffix("norm.weight") { return Tensor(repeating: 1, shape: shape) }
        let t = rng.gaussian(shape)
        // Fan-in of PyTorch layouts: dimension 1 onwards (for transposed convs, dimension 0 and the kernel).
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        Elementwise.affineInPlace(t, scale: 1 / Float(fanIn).squareRoot(), shift: 0)
        return t
    }
}
