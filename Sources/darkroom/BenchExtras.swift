import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomTraining
import Foundation

/// A denoiser that forwards to another and adds up the time spent inside it.
final class TimedDenoiser: Denoiser {
    let inner: Denoiser
    private(set) var seconds = 0.0
    init(_ inner: Denoiser) { self.inner = inner }
    var name: String { inner.name }
    var channels: Int { inner.channels }
    var imageSize: Int { inner.imageSize }
    var pixelRange: ClosedRange<Float> { inner.pixelRange }
    var prediction: PredictionKind { inner.prediction }
    var variance: VarianceKind { inner.variance }
    var schedule: DDPMSchedule { inner.schedule }
    var defaultTimesteps: [Int] { inner.defaultTimesteps }
    var noiseOnFinalStep: Bool { inner.noiseOnFinalStep }
    func conditioning(forPrompt prompt: String) throws -> Conditioning { try inner.conditioning(forPrompt: prompt) }
    func predict(_ x: Tensor, t: Double, conditioning: [Conditioning]) throws -> Prediction {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try inner.predict(x, t: t, conditioning: conditioning)
    }
}

extension BenchCommand {
    /// Wall time of a full `generate` (every DDPM step, with CFG) and the share spent outside the network.
    func benchGenerate(_ unet: TinyUNet) throws -> [[String: Any]] {
        var rows: [[String: Any]] = []
        for b in batch {
            let timed = TimedDenoiser(try TinyUNetDenoiser(unet))
            var r = EditRequest(mode: .generate)
            r.count = b
            r.guidance = 5
            r.prompt = unet.config.classes.first ?? ""
            r.seed = 1
            r.frameEvery = 1_000_000
            let start = Date()
            _ = try Editor(denoiser: timed).run(r)
            let total = Date().timeIntervalSince(start)
            rows.append(["batch": b, "seconds": total, "network_seconds": timed.seconds, "outside_share": 1 - timed.seconds / total,
                         "steps": unet.config.timesteps])
        }
        return rows
    }

    /// Training images per second for one optimisation step on random data (forward, MSE, backward, Adam).
    func benchTrain(_ config: TinyUNetConfig, batch size: Int, steps: Int) throws -> Double {
        let model = TrainableUNet(config: config, seed: 0)
        var adam = Adam(learningRate: 1e-3)
        var rng = RandomSource(seed: 3)
        let x = rng.gaussian([size, config.channels, 28, 28]), t = rng.uniform([size, 1]), target = rng.gaussian([size, config.channels, 28, 28])
        let c = Tensor(zeros: [size, config.classCount])
        for i in 0..<size where config.classCount > 0 { c[i, i % config.classCount] = 1 }
        func step() throws {
            model.zeroGrad()
            let out = try model.forward(x, t: t, c: config.classCount > 0 ? c : nil, training: true)
            let (_, grad) = try MeanSquaredError.lossAndGradient(out, target)
            try model.backward(grad)
            adam.update(model.parameters)
        }
        try step()
        let start = Date()
        for _ in 0..<steps { try step() }
        return Double(size * steps) / Date().timeIntervalSince(start)
    }
}
