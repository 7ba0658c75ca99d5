import Foundation

/// Everything that defines a training run; saved in the checkpoint so that `--resume` continues the same run.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var data: String
    public var objective: String = "ddpm"
    public var hidden: Int = 64
    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var learningRate: Double = 1e-3
    /// Per-epoch learning-rate factor; nil means the course's 0.1^(1/epochs).
    public var learningRateDecay: Double?
    public var seed: UInt64 = 0
    /// Class names; empty means the defaults for the data (Fashion-MNIST's names, or the label numbers).
    public var classNames: [String] = []
    /// Train a time-only model (K = 0), ignoring labels.
    public var unconditional = false
    /// Fraction of samples trained without their class, for classifier-free guidance.
    public var classDropout: Double = 0.1
    public var sigma: Double = 0.5
    /// Global gradient-norm limit; nil disables clipping.
    public var clipNorm: Double?
    /// Use only the first N images (quick runs and tests).
    public var limit: Int?
    /// Decay of the exponential moving average of the weights that becomes the saved model; nil or 0 saves the live
    /// weights.
    public var emaDecay: Double?
    /// Save a resumable checkpoint every this many steps (and at every epoch end).
    public var checkpointEvery: Int = 100

    public init(data: String) { self.data = data }

    /// Fashion-MNIST's classes, in label order.
    public static let fashionClasses = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]

    /// The class names a run uses for a dataset with `count` classes read from `source`.
    public func resolvedClassNames(count: Int, source: String) -> [String] {
        if unconditional { return [] }
        if !classNames.isEmpty { return classNames }
        if source.lowercased().contains("fashion"), count == 10 { return Self.fashionClasses }
        return (0..<count).map(String.init)
    }

    /// The decay actually applied per epoch.
    public var decay: Double { learningRateDecay ?? pow(0.1, 1 / Double(max(epochs, 1))) }
}
