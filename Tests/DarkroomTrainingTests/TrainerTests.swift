import XCTest
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
@testable import DarkroomTraining

/// The training loop on a tiny IDX dataset written by the test: data loading, learning, exact resume.
final class TrainerTests: XCTestCase {
    private func options(_ data: URL) -> TrainingOptions {
        var o = TrainingOptions(data: data.path)
        o.hidden = 4
        o.epochs = 2
        o.batchSize = 8
        o.learningRate = 3e-3
        o.checkpointEvery = 2
        o.seed = 5
        o.emaDecay = 0.9
        return o
    }

    func testDatasetReadsIDXAndNamesClasses() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, count: 12)
        let data = try Dataset(folder: dir.path)
        XCTAssertEqual(data.count, 12)
        XCTAssertEqual(data.classCount, 3)
        let (x, labels) = data.batch([4, 5])
        XCTAssertEqual(labels, [1, 2])
        XCTAssertEqual(x[0, 0, 10, 10], 240 / 255, accuracy: 1e-6)
        XCTAssertEqual(x[0, 0, 0, 0], 10 / 255, accuracy: 1e-6)
        XCTAssertEqual(data.shuffled(seed: 1), data.shuffled(seed: 1))
        XCTAssertEqual(data.shuffled(seed: 1).sorted(), Array(0..<12))
        XCTAssertThrowsError(try Dataset(folder: dir.appendingPathComponent("missing").path)) {
            XCTAssertTrue("\($0)".contains("train or t10k"))
        }
        XCTAssertEqual(options(dir).resolvedClassNames(count: 3, source: data.source), ["0", "1", "2"])
    }

    func testTrainingLowersTheLossAndWritesALoadableModel() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, count: 48)
        let out = dir.appendingPathComponent("run").path
        var o = options(dir)
        o.epochs = 3
        let trainer = try Trainer(options: o, out: out, resume: false)
        XCTAssertTrue(try trainer.run())
        let losses = trainer.state.epochLosses
        XCTAssertEqual(losses.count, 3)
        XCTAssertLessThan(losses[2], losses[0])
        let model = try TinyUNet(checkpoint: out + "/model")
        XCTAssertEqual(model.config.classes, ["0", "1", "2"])
        let csv = try String(contentsOfFile: out + "/loss.csv", encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 3 * 6)
    }

    func testEvaluationScoresSamplesAgainstTheRealImagesFeatures() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, count: 60)
        let data = try Dataset(folder: dir.path)
        let classifier = try Classifier.train(on: data, epochs: 1, seed: 1) { _ in }
        // The whole set on both sides: real-vs-real is 0.
        let reference = try SampleEvaluation.RealReference(classifier: classifier, test: data, train: data, count: 60)
        XCTAssertEqual(reference.realVersusReal, 0, accuracy: 1e-6)
        let model = TinyUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["0", "1", "2"]), randomSeed: 1)
        let scores = try SampleEvaluation.score(TinyUNetDenoiser(model), classifier: classifier, reference: reference, samples: 4,
                                                guidance: 2, stride: 60, seed: 1) { _ in }
        XCTAssertEqual(scores.perClass.count, 3)
        XCTAssertTrue(scores.perClass.allSatisfy { [0, 0.25, 0.5, 0.75, 1].contains($0) })
        XCTAssertGreaterThan(scores.frechetDistance, 1e-3, "an untrained model's samples are far from the bars")
    }

    func testWeightAverageFollowsTheWarmUpDecay() throws {
        let model = TrainableUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["a", "b"]), seed: 1)
        let average = WeightAverage(model, decay: 0.2)
        let p = model.parameters[0]
        let start = p.value.scalars
        // Update 1 decays by min(0.2, 1/10) = 0.1, update 2 by min(0.2, 2/11), update 3 on by 0.2 (3/12 is larger).
        var expected = start
        let decays: [Float] = [0.1, 2 / 11, 0.2, 0.2]
        for (n, d) in decays.enumerated() {
            XCTAssertEqual(average.currentDecay, d, accuracy: 1e-7)
            let shift = Float(n + 1)
            for i in 0..<p.value.count { p.value.pointer[i] = start[i] + shift }
            average.update(from: model)
            for i in 0..<expected.count {
                let live: Float = start[i] + shift
                expected[i] = d * expected[i] + (1 - d) * live
            }
        }
        XCTAssertEqual(average.updates, 4)
        let averaged = average.tensors[p.name]!.scalars
        for i in 0..<expected.count { XCTAssertEqual(averaged[i], expected[i], accuracy: 1e-5) }
    }

    func testModelFolderHoldsTheAveragedWeightsAndTheCheckpointTheLiveOnes() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, count: 24)
        let out = dir.appendingPathComponent("run").path
        var o = options(dir)
        o.epochs = 1
        let trainer = try Trainer(options: o, out: out, resume: false)
        XCTAssertTrue(try trainer.run())
        let shipped = try SafeTensorsFile(path: out + "/model/model.safetensors")
        let live = try SafeTensorsFile(path: out + "/checkpoint/model.safetensors")
        let name = "out_block.second.conv.weight"
        XCTAssertEqual(try shipped.tensor(name).scalars, trainer.average!.tensors[name]!.scalars)
        XCTAssertEqual(try live.tensor(name).scalars, trainer.model.stateDict().tensors[name]!.scalars)
        XCTAssertNotEqual(try shipped.tensor(name).scalars, try live.tensor(name).scalars)
        XCTAssertEqual(trainer.state.averageUpdates, 3)

        // A checkpoint of an averaging run without its average is refused, naming the file.
        try FileManager.default.removeItem(atPath: out + "/checkpoint/average.safetensors")
        XCTAssertThrowsError(try Trainer(options: o, out: out, resume: true)) {
            XCTAssertTrue("\($0)".contains("average.safetensors"), "\($0)")
        }
    }

    func testASaveInterruptedAtAnyPointLeavesACompleteCheckpoint() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, count: 24)
        let out = dir.appendingPathComponent("run").path
        var o = options(dir)
        o.epochs = 1
        XCTAssertTrue(try Trainer(options: o, out: out, resume: false).run())
        let fm = FileManager.default
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("checkpoint") }, ["checkpoint"])
        let (current, next, previous) = (out + "/checkpoint", out + "/checkpoint.next", out + "/checkpoint.previous")
        // Stopped after the current checkpoint was moved aside, before the next one took its place.
        try fm.copyItem(atPath: current, toPath: next)
        try fm.moveItem(atPath: current, toPath: previous)
        XCTAssertEqual(try Trainer(options: o, out: out, resume: true).state.epoch, 1)
        // Stopped while the next one was being written (no state file yet): the previous one is used.
        try fm.removeItem(atPath: next + "/state.json")
        try fm.removeItem(atPath: next + "/optimizer.safetensors")
        XCTAssertEqual(try Trainer(options: o, out: out, resume: true).state.epoch, 1)
        // The next save cleans both up.
        o.epochs = 2
        XCTAssertTrue(try Trainer(options: o, out: out, resume: true).run())
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("checkpoint") }, ["checkpoint"])
    }

    func testInterruptedRunResumesToTheSameWeights() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, count: 40)
        let straight = dir.appendingPathComponent("straight").path
        XCTAssertTrue(try Trainer(options: options(dir), out: straight, resume: false).run())

        let interrupted = dir.appendingPathComponent("interrupted").path
        let first = try Trainer(options: options(dir), out: interrupted, resume: false)
        var steps = 0
        first.onProgress = { _ in
            steps += 1
            if steps == 7 { trainingStopRequested = 1 }
        }
        defer { trainingStopRequested = 0 }
        XCTAssertFalse(try first.run())
        trainingStopRequested = 0
        let second = try Trainer(options: options(dir), out: interrupted, resume: true)
        XCTAssertEqual(second.state.epoch, 1)
        XCTAssertEqual(second.state.step, 2)
        XCTAssertTrue(try second.run())

        let a = try SafeTensorsFile(path: straight + "/model/model.safetensors")
        let b = try SafeTensorsFile(path: interrupted + "/model/model.safetensors")
        XCTAssertEqual(a.names, b.names)
        for name in a.names where !name.hasSuffix("num_batches_tracked") {
            XCTAssertEqual(try a.tensor(name).scalars, try b.tensor(name).scalars, name)
        }
        XCTAssertEqual(try a.int64Values("in_block.first.norm.num_batches_tracked"), try b.int64Values("in_block.first.norm.num_batches_tracked"))
    }
}
