import ArgumentParser
import DarkroomDiffusion
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
        let classifier = try loadOrTrainClassifier()
        let test = try Dataset(folder: data, split: "t10k")
        let realAccuracy = try classifier.accuracy(on: test)
        log(String(format: "classifier accuracy on the real test split: %.2f%%", 100 * realAccuracy))

        var perClass: [Double] = []
        for (k, name) in classes.enumerated() {
            var r = EditRequest(mode: .generate)
            r.prompt = name
            r.count = samples
            r.guidance = guidance
            r.stride = stride
            r.seed = seed &+ UInt64(k)
            r.frameEvery = 1_000_000
            let images = try Editor(denoiser: denoiser).run(r).images
            let batch = try Guidance.concatBatch(images)
            let predicted = try classifier.predict(batch)
            let accuracy = Double(predicted.filter { $0 == k }.count) / Double(samples)
            perClass.append(accuracy)
            log("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%6.1f%%", 100 * accuracy))
        }
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

    private func loadOrTrainClassifier() throws -> Classifier {
        let train = try Dataset(folder: data, split: "train")
        // FNV-1a over the image count and the first 64 KiB of pixels identifies the dataset.
        var hash: UInt32 = 2_166_136_261 ^ UInt32(truncatingIfNeeded: train.count)
        for byte in train.images.prefix(65_536) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let key = String(format: "%08x", hash)
        let path = (cache as NSString).appendingPathComponent("classifier-\(key)-e\(classifierEpochs).safetensors")
        if FileManager.default.fileExists(atPath: path) {
            log("using cached classifier \(path)")
            return try Classifier.load(path: path)
        }
        log("training the classifier on \(train.count) images (\(classifierEpochs) epochs; cached afterwards)")
        let classifier = try Classifier.train(on: train, epochs: classifierEpochs, seed: 7) { log($0) }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try classifier.save(to: path)
        return classifier
    }
}
