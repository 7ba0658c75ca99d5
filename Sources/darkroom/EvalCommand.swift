import ArgumentParser
import DarkroomModels
import DarkroomTensor
import DarkroomTraining
import Foundation

/// `darkroom eval`: how recognisable a class-conditioned model's samples are, judged by a classifier.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Judge a class-conditioned model: a classifier (trained once, cached) labels its samples.",
        discussion: """
        Trains a small classifier with Darkroom's engine on the dataset's training split (cached under --cache), \
        generates --samples images per class at --guidance, and reports per-class and mean accuracy of the classifier \
        on them, with its accuracy on the real test split for scale.
        """
    )

    @Option(help: "Checkpoint folder of a class-conditioned model.")
    var model: String
    @Option(help: "IDX folder with train and t10k files (default: Fashion-MNIST from Debian's dataset-fashion-mnist).")
    var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Samples generated per class.")
    var samples = 50
    @Option(help: "Classifier-free guidance scale.")
    var guidance: Float = 5
    @Option(help: "Stride between DDPM timesteps (1 = all steps).")
    var stride = 3
    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0
    @Option(help: "Epochs for the classifier when it is not cached yet.")
    var classifierEpochs = 3
    @Option(help: "Folder for the cached classifier.")
    var cache = ".cache/darkroom"
    @Flag(help: "Print one JSON object.")
    var json = false
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        let denoiser = try TinyUNetDenoiser(TinyUNet(checkpoint: model))
        let classes = denoiser.classes
        guard !classes.isEmpty else { throw ValidationError("\(model) has no classes to evaluate") }
        let classifier = try SampleEvaluation.classifier(data: data, epochs: classifierEpochs, cache: cache) { log($0) }
        let test = try Dataset(folder: data, split: "t10k")
        let realAccuracy = try classifier.accuracy(on: test)
        log(String(format: "classifier accuracy on the real test split: %.2f%%", 100 * realAccuracy))
        let perClass = try SampleEvaluation.accuracyPerClass(denoiser, classifier: classifier, samples: samples, guidance: guidance,
                                                             stride: stride, seed: seed) { log($0) }
        let mean = perClass.reduce(0, +) / Double(perClass.count)
        if json {
            let object: [String: Any] = ["model": model, "guidance": guidance, "samples_per_class": samples, "stride": stride,
                                         "mean_accuracy": mean, "per_class": Dictionary(uniqueKeysWithValues: zip(classes, perClass)),
                                         "classifier_test_accuracy": realAccuracy]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "mean accuracy %.2f%% over %d classes (lowest %.1f%%), guidance %.1f, %d samples per class; classifier %.2f%% on real test images",
                         100 * mean, classes.count, 100 * (perClass.min() ?? 0), guidance, samples, 100 * realAccuracy))
        }
    }

    private func log(_ line: String) {
        if json { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) } else { print(line) }
    }
}
