import ArgumentParser
import DarkroomTensor
import DarkroomTraining
import DarkroomSupport
import Foundation

/// `darkroom train`: trains the small UNet from scratch on a folder of IDX files.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the small UNet from scratch on IDX data (MNIST, Fashion-MNIST, …).",
        discussion: """
        Writes OUT/checkpoint (resumable, saved every --checkpoint-every steps and at each epoch end), \
        OUT/model (config.json + model.safetensors after each epoch) and OUT/loss.csv. Ctrl-C or SIGTERM finishes \
        the current step, saves a checkpoint and stops; --resume continues from it.
        """
    )

    @Option(help: "Folder holding train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (or t10k-…).")
    var data: String
    @Option(help: "ddpm, flow, denoise (one step from x + σε) or pure-noise (one step from noise alone).")
    var objective = "ddpm"
    @Option(help: "Training noise σ of --objective denoise.")
    var sigma = 0.5
    @Option(help: "Fraction of samples trained without their class, for classifier-free guidance.")
    var classDropout = 0.1
    @Option(help: "Hidden width D.")
    var hidden = 64
    @Option(help: "Number of epochs (a resumed run may raise it).")
    var epochs = 10
    @Option(help: "Images per step.")
    var batchSize = 128
    @Option(help: "Adam learning rate at the first epoch.")
    var lr = 1e-3
    @Option(help: "Learning-rate factor per epoch (default 0.1^(1/epochs)).")
    var lrDecay: Double?
    @Option(help: "Seed for initialisation, shuffling and noise.")
    var seed: UInt64 = 0
    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Comma-separated class names (default: Fashion-MNIST's names or the label numbers).")
    var classNames: String?
    @Flag(help: "Train a time-only model without classes.")
    var unconditional = false
    @Option(help: "Clip the global gradient norm to this value.")
    var clip: Double?
    @Option(help: "Train on the first N images only.")
    var limit: Int?
    @Option(help: "Decay of the exponential moving average of the weights that is saved as the model (0: save the live weights).")
    var ema = 0.999
    @Option(help: "Save a checkpoint every N steps.")
    var checkpointEvery = 100
    @Flag(help: "Continue the run saved in OUT/checkpoint.")
    var resume = false
    @Flag(help: "Only redraw OUT's loss curve, sample grid and denoising GIF from OUT/model, then stop.")
    var reportOnly = false
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        if reportOnly {
            try TrainingReport.write(out: out, modelFolder: (out as NSString).appendingPathComponent("model"), seed: seed, data: data)
            print("wrote the report (loss.png, samples.png and the figures of the objective) in \(out)")
            return
        }
        var options = TrainingOptions(data: data)
        options.objective = objective
        options.hidden = hidden
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = lr
        options.learningRateDecay = lrDecay
        options.seed = seed
        options.classNames = classNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        options.unconditional = unconditional
        options.clipNorm = clip
        options.sigma = sigma
        options.classDropout = classDropout
        options.limit = limit
        options.checkpointEvery = checkpointEvery
        options.emaDecay = ema
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        let trainer = try Trainer(options: options, out: out, resume: resume)
        let o = trainer.options
        let k = trainer.model.config.classCount
        print("training \(o.objective) UNet D=\(o.hidden) K=\(k) on \(trainer.imageCount) images, batch \(o.batchSize), "
              + "\(trainer.stepsPerEpoch) steps/epoch, \(trainer.average.map { "EMA \($0.decay), " } ?? "")epochs \(trainer.state.epoch + 1)…\(o.epochs), lr \(o.learningRate) ×\(String(format: "%.4f", o.decay))/epoch, \(Engine.threads) threads")
        if trainer.state.epoch > 0 || trainer.state.step > 0 {
            print("resuming at epoch \(trainer.state.epoch + 1), step \(trainer.state.step + 1)")
        }
        signal(SIGINT) { _ in trainingStopRequested = 1 }
        signal(SIGTERM) { _ in trainingStopRequested = 1 }
        let bar = ProgressBar()
        trainer.onProgress = { bar.show($0) }
        trainer.onEpochEnd = { epoch, dir in
            bar.finishLine()
            print(String(format: "epoch %d done: mean loss %.5f; model written to %@", epoch + 1, trainer.state.epochLosses.last ?? 0, dir))
            try TrainingReport.write(out: out, modelFolder: dir, seed: seed, data: o.data)
            print("  loss curve, sample grid and denoising GIF in \(out)")
        }
        let finished = try trainer.run()
        bar.finishLine()
        print(finished ? "training finished: \(out)/model" : "stopped; checkpoint saved in \(out)/checkpoint (resume with --resume)")
    }
}

/// One-line progress: redrawn in place on a terminal, a new line every few seconds in a log file.
final class ProgressBar {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastPrint = Date.distantPast
    private var open = false

    func show(_ p: Trainer.Progress) {
        let now = Date()
        guard isTerminal || now.timeIntervalSince(lastPrint) >= 10 || p.step == p.stepsPerEpoch else { return }
        lastPrint = now
        let width = 24
        let filled = width * p.step / max(p.stepsPerEpoch, 1)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "epoch %d/%d %@ %d/%d  loss %.4f (mean %.4f)  %.0f img/s  ETA %@",
                          p.epoch + 1, p.epochs, bar, p.step, p.stepsPerEpoch, p.loss, p.meanLoss, p.imagesPerSecond,
                          durationText(p.secondsLeft))
        if isTerminal {
            print("\r" + line, terminator: "")
            open = true
        } else {
            print(line)
        }
        fflush(nil)
    }

    func finishLine() {
        if open { print("") }
        open = false
    }
}
