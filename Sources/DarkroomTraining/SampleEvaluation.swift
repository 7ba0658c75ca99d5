import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import Foundation

/// How recognisable a class-conditioned model's samples are: a classifier trained by Darkroom (cached) labels them.
public enum SampleEvaluation {
    /// The classifier for the dataset in `data`, trained for `epochs` once and cached in `cache` (keyed by the data).
    public static func classifier(data: String, epochs: Int, cache: String, log: (String) -> Void) throws -> Classifier {
        let train = try Dataset(folder: data, split: "train")
        // FNV-1a over the image count and the first 64 KiB of pixels identifies the dataset.
        var hash: UInt32 = 2_166_136_261 ^ UInt32(truncatingIfNeeded: train.count)
        for byte in train.images.prefix(65_536) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let key = String(format: "%08x", hash)
        let path = (cache as NSString).appendingPathComponent("classifier-\(key)-e\(epochs).safetensors")
        if FileManager.default.fileExists(atPath: path) {
            log("using cached classifier \(path)")
            return try Classifier.load(path: path)
        }
        log("training the classifier on \(train.count) images (\(epochs) epochs; cached afterwards)")
        let classifier = try Classifier.train(on: train, epochs: epochs, seed: 7) { log($0) }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try classifier.save(to: path)
        return classifier
    }

    /// The share of `samples` generated images per class that `classifier` labels as that class, class by class.
    public static func accuracyPerClass(_ denoiser: TinyUNetDenoiser, classifier: Classifier, samples: Int, guidance: Float,
                                        stride: Int, seed: UInt64, log: (String) -> Void) throws -> [Double] {
        var perClass: [Double] = []
        for (k, name) in denoiser.classes.enumerated() {
            var r = EditRequest(mode: .generate)
            r.prompt = name
            r.count = samples
            r.guidance = guidance
            r.stride = stride
            r.seed = seed &+ UInt64(k)
            r.frameEvery = 1_000_000
            let images = try Editor(denoiser: denoiser).run(r).images
            let predicted = try classifier.predict(try Guidance.concatBatch(images))
            let accuracy = Double(predicted.filter { $0 == k }.count) / Double(samples)
            perClass.append(accuracy)
            log("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%6.1f%%", 100 * accuracy))
        }
        return perClass
    }
}
