import Foundation
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor

/// Set from a signal handler: finish the current step, save a checkpoint, stop.
/// nonisolated(unsafe): a `sig_atomic_t` written by the handler and polled between steps, as C signal handling allows.
nonisolated(unsafe) public var trainingStopRequested: sig_atomic_t = 0

/// The training loop: epochs of shuffled mini-batches, Adam with exponential decay, checkpoints, resume.
public final class Trainer {
    /// Progress of one step, for display.
    public struct Progress {
        public let epoch, epochs, step, stepsPerEpoch: Int
        public let loss, meanLoss, imagesPerSecond: Double
        public let secondsLeft: Double
    }

    public let options: TrainingOptions
    public let out: String
    public let model: TrainableUNet
    /// The average of the weights that is saved as the model, when the run keeps one.
    public let average: WeightAverage?
    public private(set) var state: TrainingState
    private let dataset: Dataset
    private let objective: Objective
    private let schedule: DDPMSchedule
    private var adam: Adam

    /// Called after every step.
    public var onProgress: ((Progress) -> Void)?
    /// Called after every finished epoch with the model folder just written.
    public var onEpochEnd: ((Int, String) throws -> Void)?

    /// Starts a run, or resumes the one saved in `out` when `resume` is set and a checkpoint exists.
    public init(options: TrainingOptions, out: String, resume: Bool) throws {
        guard let objective = Objective(rawValue: options.objective) else {
            throw TrainingError.badData("unknown objective '\(options.objective)' (expected \(Objective.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let resumed = resume ? try TrainingCheckpoint.load(out: out) : nil
        var chosen = resumed?.2.options ?? options
        chosen.epochs = options.epochs   // a resumed run may be extended
        let dataset = try Dataset(folder: chosen.data, limit: chosen.limit)
        guard dataset.height == 28, dataset.width == 28 else {
            throw TrainingError.badData("\(dataset.source): images are \(dataset.height)x\(dataset.width); the small UNet needs 28x28")
        }
        if let (model, average, state) = resumed {
            self.model = model
            self.average = average
            self.state = state
        } else {
            chosen.classNames = chosen.resolvedClassNames(count: dataset.classCount, source: dataset.source)
            guard chosen.sigma.isFinite, (0...10).contains(chosen.sigma) else {
                throw TrainingError.badData("--sigma \(chosen.sigma): the training noise must be between 0 and 10")
            }
            guard (0...1).contains(chosen.classDropout) else {
                throw TrainingError.badData("--class-dropout \(chosen.classDropout): the fraction must be between 0 and 1")
            }
            var config = TinyUNetConfig(channels: 1, hidden: chosen.hidden, classes: chosen.classNames, objective: chosen.objective)
            if objective == .denoise { config.sigma = chosen.sigma }
            model = TrainableUNet(config: config, seed: chosen.seed)
            let decay = chosen.emaDecay ?? 0
            guard (0..<1).contains(decay) else { throw TrainingError.badData("--ema \(decay): the EMA decay must be in [0, 1) (0 saves the live weights)") }
            average = decay > 0 ? WeightAverage(model, decay: decay) : nil
            state = TrainingState(options: chosen, epoch: 0, step: 0, adamStep: 0, averageUpdates: average.map { _ in 0 }, epochLosses: [])
        }
        if model.config.classCount > 0, dataset.classCount > model.config.classCount {
            throw TrainingError.badData("\(dataset.source) has \(dataset.classCount) classes but the model has \(model.config.classCount) class names")
        }
        state.options = chosen
        self.options = chosen
        self.dataset = dataset
        self.out = out
        self.objective = objective
        schedule = .linear(timesteps: model.config.timesteps, start: model.config.betaStart, end: model.config.betaEnd)
        adam = Adam(learningRate: Float(self.options.learningRate))
        adam.step = state.adamStep
    }

    public var stepsPerEpoch: Int { max(1, dataset.count / options.batchSize) }
    public var imageCount: Int { dataset.count }

    /// Trains until the last epoch ends or a stop is requested; returns true when all epochs are done.
    @discardableResult
    public func run() throws -> Bool {
        let steps = stepsPerEpoch
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var lossLog = try LossLog(path: (out as NSString).appendingPathComponent("loss.csv"), keepingSteps: state.epoch * steps + state.step)
        while state.epoch < options.epochs {
            let order = dataset.shuffled(seed: mix(options.seed, UInt64(state.epoch), 0x5EED))
            adam.learningRate = Float(options.learningRate * pow(options.decay, Double(state.epoch)))
            var lossSum = lossLog.sumOfEpoch(state.epoch)
            let started = Date()
            let firstStep = state.step
            while state.step < steps {
                let loss = try trainStep(indices: order[(state.step * options.batchSize)..<((state.step + 1) * options.batchSize)])
                lossSum += Double(loss)
                try lossLog.append(epoch: state.epoch, step: state.step, loss: Double(loss))
                state.step += 1
                state.adamStep = adam.step
                if let average {
                    average.update(from: model)
                    state.averageUpdates = average.updates
                }
                let done = state.step - firstStep
                let rate = Double(done * options.batchSize) / max(Date().timeIntervalSince(started), 1e-9)
                let left = Double((steps - state.step) + (options.epochs - state.epoch - 1) * steps) * Double(options.batchSize) / rate
                onProgress?(Progress(epoch: state.epoch, epochs: options.epochs, step: state.step, stepsPerEpoch: steps,
                                     loss: Double(loss), meanLoss: lossSum / Double(state.step), imagesPerSecond: rate, secondsLeft: left))
                if trainingStopRequested != 0 {
                    try TrainingCheckpoint.save(model, average: average, state: state, out: out)
                    return false
                }
                if state.step % options.checkpointEvery == 0 { try TrainingCheckpoint.save(model, average: average, state: state, out: out) }
            }
            state.epochLosses.append(lossSum / Double(steps))
            state.epoch += 1
            state.step = 0
            try TrainingCheckpoint.save(model, average: average, state: state, out: out)
            let modelDir = (out as NSString).appendingPathComponent("model")
            try TrainingCheckpoint.saveModel(model, average: average, to: modelDir)
            try onEpochEnd?(state.epoch - 1, modelDir)
        }
        return true
    }

    /// One optimisation step on the images at `indices`; returns the loss.
    func trainStep(indices: ArraySlice<Int>) throws -> Float {
        var rng = RandomSource(seed: mix(options.seed, UInt64(state.epoch), UInt64(state.step)))
        let (images, labels) = dataset.batch(indices)
        let (input, t, target) = objective.trainingBatch(images, schedule: schedule, sigma: Float(options.sigma), rng: &rng)
        var c: Tensor?
        let k = model.config.classCount
        if k > 0 {
            let onehot = Tensor(zeros: [labels.count, k])
            for (i, label) in labels.enumerated() where Double(rng.uniform()) >= options.classDropout { onehot[i, label] = 1 }
            c = onehot
        }
        model.zeroGrad()
        let prediction = try model.forward(input, t: t, c: c, training: true)
        let (loss, grad) = try MeanSquaredError.lossAndGradient(prediction, target)
        guard loss.isFinite else { throw TrainingError.badData("loss became \(loss) at epoch \(state.epoch + 1), step \(state.step + 1); lower the learning rate or set --clip") }
        try model.backward(grad)
        if let clip = options.clipNorm { Adam.clipGradients(model.parameters, maxNorm: Float(clip)) }
        adam.update(model.parameters)
        return loss
    }
}

/// A seed derived from several integers (SplitMix64 finaliser over a running combination).
func mix(_ values: UInt64...) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15
    for v in values {
        h = (h ^ v) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
    }
    return h
}
