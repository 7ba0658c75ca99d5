import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import Foundation
import DarkroomJobModel

/// How good a class-conditioned model's samples are, judged by a classifier trained by Darkroom (cached): how many it
/// labels as their class, and the Fréchet distance (FD) of its penultimate features to the real test images'.
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

    /// The real images FD is measured against, and the scale for reading it.
    public struct RealReference {
        /// Feature statistics of every test image.
        public let test: FrechetDistance.Statistics
        /// FD between `count` training images (a seeded draw) and the test images: what a perfect model scores with as
        /// many samples, since FD grows as the sample shrinks.
        public let realVersusReal: Double
        public let count: Int

        public init(classifier: Classifier, test: Dataset, train: Dataset, count: Int, seed: UInt64 = 17) throws {
            let (testImages, _) = test.batch(Array(0..<test.count)[...])
            self.test = FrechetDistance.Statistics(features: try classifier.features(testImages))
            let (trainImages, _) = train.batch(train.shuffled(seed: seed).prefix(min(count, train.count)))
            realVersusReal = FrechetDistance.between(FrechetDistance.Statistics(features: try classifier.features(trainImages)), self.test)
            self.count = count
        }
    }

    /// The scores of one guidance scale.
    public struct Scores {
        public let guidance: Float
        /// Share of each class's samples the classifier labels as that class.
        public let perClass: [Double]
        /// FD of all samples (every class) to the real test images.
        public let frechetDistance: Double
        public var meanAccuracy: Double { perClass.reduce(0, +) / Double(max(perClass.count, 1)) }
    }

    /// Generates `samples` images per class at `guidance` and scores them; a flow model takes `steps` Euler steps
    /// (default 50), a DDPM model every `stride`-th timestep.
    public static func score(_ denoiser: TinyUNetDenoiser, classifier: Classifier, reference: RealReference, samples: Int,
                             guidance: Float, stride: Int, steps: Int? = nil, seed: UInt64, log: (String) -> Void) throws -> Scores {
        var perClass: [Double] = []
        var features: [Tensor] = []
        for (k, name) in denoiser.classes.enumerated() {
            var r = EditRequest(mode: .generate)
            r.prompt = name
            r.count = samples
            r.guidance = guidance
            r.stride = stride
            r.steps = steps
            r.seed = seed &+ UInt64(k)
            r.frameEvery = 1_000_000
            let images = try Guidance.concatBatch(try Editor(denoiser: denoiser).run(r).images)
            let predicted = try classifier.predict(images)
            features.append(try classifier.features(images))
            let accuracy = Double(predicted.filter { $0 == k }.count) / Double(samples)
            perClass.append(accuracy)
            log("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%6.1f%%", 100 * accuracy))
        }
        let generated = FrechetDistance.Statistics(features: try Guidance.concatBatch(features))
        return Scores(guidance: guidance, perClass: perClass, frechetDistance: FrechetDistance.between(generated, reference.test))
    }
}
