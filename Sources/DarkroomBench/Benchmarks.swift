import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomTraining
import Foundation
import DarkroomJobModel

/// A denoiser that forwards to another and adds up the time spent inside it.
final class TimedDenoiser: Denoiser {
    var defaultGuidance: Float { inner.defaultGuidance }
    var stageName: String { inner.stageName }
    var trainingSigma: Double? { inner.trainingSigma }
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

/// The engine's and models' benchmarks behind `darkroom bench`: each returns the figures it prints.
public enum Benchmarks {
    /// Run times in seconds of `body`, after one warm-up, for about `seconds` (at least 3 runs).
    public static func measure(seconds: Double, _ body: () throws -> Void) throws -> [Double] {
        try body()
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        while times.count < 3 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            if times.count >= 10_000 { break }
        }
        return times
    }

    /// Sustained GFLOP/s of the conv path (3x3, 64→64, 28x28, batch 64) and of raw sgemm (1024³).
    public static func convThroughput(seconds: Double) throws -> (conv: Double, gemm: Double) {
        var rng = RandomSource(seed: 2)
        let x = rng.gaussian([64, 64, 28, 28]), w = rng.gaussian([64, 64, 3, 3]), b = rng.gaussian([64])
        let convTimes = try measure(seconds: min(seconds, 2)) { _ = try Conv2d.forward(x, weight: w, bias: b, stride: 1, padding: 1) }
        let convFlops = 2.0 * 64 * 64 * 9 * 784 * 64
        let n = 1024
        let a = rng.gaussian([n, n]), m = rng.gaussian([n, n]), out = Tensor(zeros: [n, n])
        let gemmTimes = try measure(seconds: min(seconds, 2)) { sgemm(m: n, n: n, k: n, a: a.pointer, b: m.pointer, c: out.pointer) }
        return (convFlops / convTimes.sorted()[convTimes.count / 2] / 1e9,
                2.0 * Double(n * n * n) / gemmTimes.sorted()[gemmTimes.count / 2] / 1e9)
    }

    /// Forward latency of the small UNet per batch size: median and minimum ms, runs, images/s and GFLOP/s.
    public static func forward(_ unet: TinyUNet, batches: [Int], seconds: Double) throws -> [[String: Any]] {
        let config = unet.config
        var results: [[String: Any]] = []
        var rng = RandomSource(seed: 1)
        for b in batches {
            let x = rng.gaussian([b, config.channels, 28, 28])
            let t = rng.uniform([b, 1])
            var c: Tensor?
            if config.classCount > 0 {
                let onehot = Tensor(zeros: [b, config.classCount])
                for i in 0..<b { onehot[i, i % config.classCount] = 1 }
                c = onehot
            }
            let times = try measure(seconds: seconds) { _ = try unet.forward(x, t: t, c: c) }
            let median = times.sorted()[times.count / 2]
            results.append(["batch": b, "median_ms": median * 1000, "min_ms": times.min()! * 1000, "runs": times.count,
                            "images_per_s": Double(b) / median, "gflops": unet.flopsPerSample * Double(b) / median / 1e9])
        }
        return results
    }

    /// Wall time of a full `generate` (every DDPM step, with CFG) and the share spent outside the network.
    public static func generate(_ unet: TinyUNet, batches: [Int]) throws -> [[String: Any]] {
        var rows: [[String: Any]] = []
        for b in batches {
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
    public static func train(_ config: TinyUNetConfig, batch size: Int, steps: Int) throws -> Double {
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
