import ArgumentParser
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomTraining
import Foundation

/// `darkroom eval`: how recognisable and how faithful a class-conditioned model's samples are, judged by a classifier.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Judge a class-conditioned model: a classifier (trained once, cached) labels its samples and measures FD.",
        discussion: """
        Trains a small classifier with Darkroom's engine on the dataset's training split (cached under --cache), \
        generates --samples images per class at each --guidance, and reports per-class and mean accuracy of the \
        classifier on them, with its accuracy on the real test split for scale. FD is the Fréchet distance between the \
        classifier's penultimate features of all samples and of the real test images; as a scale, FD of as many real \
        training images against the test images (lower is better; FD grows as the sample shrinks).
        """
    )

    @Option(help: "Checkpoint folder of a class-conditioned model.")
    var model: String
    @Option(help: "IDX folder with train and t10k files (default: Fashion-MNIST from Debian's dataset-fashion-mnist).")
    var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Samples generated per class.")
    var samples = 50
    @Option(parsing: .upToNextOption, help: "Classifier-free guidance scales, one evaluation each (e.g. --guidance 1 2 3 5).")
    var guidance: [Float] = [5]
    @Option(help: "Stride between DDPM timesteps (1 = all steps).")
    var stride = 3
    @Option(help: "Euler steps of a flow model (default 50); DDPM models use --stride.")
    var steps: Int?
    @Option(help: "Noise of strided steps: beta, posterior or beta_at_unit_stride (default: the model's config).")
    var variance: String?
    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0
    @Option(help: "Epochs for the classifier when it is not cached yet.")
    var classifierEpochs = 3
    @Option(help: "Folder for the cached classifier.")
    var cache = ".cache/darkroom"
    @Flag(help: "Print one JSON object.")
    var json = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if samples < 2 { throw ValidationError("--samples must be at least 2 (FD needs a covariance)") }
        if guidance.isEmpty { throw ValidationError("--guidance needs at least one value") }
        if let bad = guidance.first(where: { !(0...100).contains($0) }) { throw ValidationError("--guidance \(bad) is outside 0…100") }
        if stride < 1 { throw ValidationError("--stride must be at least 1") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if let variance, !TinyUNetConfig.variances.contains(variance) {
            throw ValidationError("--variance must be one of \(TinyUNetConfig.variances.joined(separator: ", ")), not \(variance)")
        }
    }

    func run() throws {
        engine.apply()
        let denoiser = try TinyUNetDenoiser(TinyUNet(checkpoint: model), variance: variance.flatMap(VarianceKind.init(rawValue:)))
        let classes = denoiser.classes
        if steps != nil, denoiser.prediction != .flow {
            throw ValidationError("--steps is for flow models; \(model) is a DDPM model (use --stride)")
        }
        let sampling = denoiser.prediction == .flow ? "\(steps ?? 50) Euler steps" : "stride \(stride), variance \(denoiser.variance.rawValue)"
        guard !classes.isEmpty else { throw ValidationError("\(model) has no classes to evaluate") }
        let classifier = try SampleEvaluation.classifier(data: data, epochs: classifierEpochs, cache: cache) { log($0) }
        let test = try Dataset(folder: data, split: "t10k")
        let realAccuracy = try classifier.accuracy(on: test)
        log(String(format: "classifier accuracy on the real test split: %.2f%%", 100 * realAccuracy))
        let reference = try SampleEvaluation.RealReference(classifier: classifier, test: test, train: try Dataset(folder: data, split: "train"),
                                                           count: samples * classes.count)
        log(String(format: "FD of %d real training images to the %d test images: %.3f", reference.count, test.count, reference.realVersusReal))
        var all: [SampleEvaluation.Scores] = []
        for g in guidance {
            log(String(format: "guidance %g, %@:", g, sampling))
            let scores = try SampleEvaluation.score(denoiser, classifier: classifier, reference: reference, samples: samples,
                                                    guidance: g, stride: stride, steps: steps, seed: seed) { log($0) }
            all.append(scores)
            if !json {
                print(String(format: "guidance %g: mean accuracy %.2f%% over %d classes (lowest %.1f%%), FD %.3f; %d samples per class, %@",
                             g, 100 * scores.meanAccuracy, classes.count, 100 * (scores.perClass.min() ?? 0), scores.frechetDistance,
                             samples, sampling))
            }
        }
        if json {
            func object(_ s: SampleEvaluation.Scores) -> [String: Any] {
                ["guidance": s.guidance, "mean_accuracy": s.meanAccuracy, "per_class": Dictionary(uniqueKeysWithValues: zip(classes, s.perClass)),
                 "fd": s.frechetDistance]
            }
            // The first guidance's figures stay at the top level, where scripts read them.
            var top = object(all[0])
            if denoiser.prediction == .flow { top["steps"] = steps ?? 50 }
            top.merge(["model": model, "samples_per_class": samples, "stride": stride, "variance": denoiser.variance.rawValue,
                       "classifier_test_accuracy": realAccuracy, "fd_real_vs_real": reference.realVersusReal,
                       "by_guidance": all.map(object)]) { $1 }
            print(String(decoding: try JSONSerialization.data(withJSONObject: top, options: [.sortedKeys]), as: UTF8.self))
        } else {
            let best = all.min { $0.frechetDistance < $1.frechetDistance }!
            print(String(format: "classifier %.2f%% on real test images; real-vs-real FD %.3f; best FD %.3f at guidance %g",
                         100 * realAccuracy, reference.realVersusReal, best.frechetDistance, best.guidance))
        }
    }

    private func log(_ line: String) {
        // Flushed per line, so a run whose output goes to a log file shows its progress.
        if json { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) } else { print(line); fflush(nil) }
    }
}
