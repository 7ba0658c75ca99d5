import DarkroomImaging
import DarkroomModels
import DarkroomTensor
import Foundation

/// The course's figures for the single-step denoisers: the σ sweep on real test images with the test loss per σ, and
/// what the pure-noise denoiser makes of noise beside the data's mean.
enum DenoiserReport {
    /// Noise levels of the sweep figure (the course's).
    static let sweep: [Float] = [0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0]
    /// Noise levels of the test-loss curve.
    static let lossLevels: [Float] = (0...10).map { Float($0) / 10 }
    /// Images the test loss is averaged over, and how many the sweep figure shows.
    static let lossImages = 1000, shownImages = 3

    /// The images the figures use: the test split (`t10k`) of `data`, or its training split when it has none.
    static func testImages(data: String) throws -> Dataset {
        if let test = try? Dataset(folder: data, split: "t10k") { return test }
        return try Dataset(folder: data)
    }

    /// Rows of the sweep (each shown image noised at every σ, then its one-step denoising), and `sigma-loss.csv` /
    /// `sigma-loss.png` in `out`: the mean squared error against the clean image over the first test images per σ.
    /// Without data the sweep noises a uniform random image and no loss is written.
    static func sigmaSweep(_ unet: TinyUNet, images: Dataset?, out: String, seed: UInt64) throws -> [[(String, Tensor)]] {
        var rng = RandomSource(seed: seed)
        let clean: Tensor
        if let images {
            clean = images.batch(Array(0..<min(shownImages, images.count))[...]).0
        } else {
            clean = rng.uniform([1, unet.config.channels, 28, 28])
        }
        var rows: [[(String, Tensor)]] = []
        for b in 0..<clean.shape[0] {
            let x0 = clean.slice(batch: b..<(b + 1))
            var noisy: [(String, Tensor)] = [], denoised: [(String, Tensor)] = []
            for sigma in sweep {
                let x = noised(x0, sigma: sigma, rng: &rng)
                let y = try unet.forward(x, t: Tensor(repeating: sigma, shape: [1, 1]))
                noisy.append((String(format: "s=%.1f", sigma), TrainingReport.clamp(x)))
                denoised.append(("denoised", TrainingReport.clamp(y)))
            }
            rows += [noisy, denoised]
        }
        if let images { try writeTestLoss(unet, images: images, out: out, seed: seed) }
        return rows
    }

    /// Test MSE of the one-step denoising at each of `lossLevels`, as CSV and as a plot.
    static func writeTestLoss(_ unet: TinyUNet, images: Dataset, out: String, seed: UInt64) throws {
        let n = min(lossImages, images.count), batch = 250
        var rng = RandomSource(seed: seed &+ 1)
        var csv = "sigma,test_mse\n"
        var points: [(x: Double, y: Double)] = []
        for sigma in lossLevels {
            var sum = 0.0
            for start in stride(from: 0, to: n, by: batch) {
                let x0 = images.batch(Array(start..<min(start + batch, n))[...]).0
                let y = try unet.forward(noised(x0, sigma: sigma, rng: &rng), t: Tensor(repeating: sigma, shape: [x0.shape[0], 1]))
                for i in 0..<x0.count {
                    let d = Double(y.pointer[i] - x0.pointer[i])
                    sum += d * d
                }
            }
            let mse = sum / Double(n * 28 * 28 * unet.config.channels)
            csv += String(format: "%.1f,%.6f\n", sigma, mse)
            points.append((Double(sigma), mse))
        }
        try csv.write(toFile: (out as NSString).appendingPathComponent("sigma-loss.csv"), atomically: true, encoding: .utf8)
        let trained = unet.config.sigma.map { String(format: " (trained at s=%.2g)", $0) } ?? ""
        try PNGWriter.write(LinePlot.render(points: points, title: "test loss per noise level\(trained)", xLabel: "s"),
                                  to: (out as NSString).appendingPathComponent("sigma-loss.png"))
    }

    /// Rows of the pure-noise denoiser's outputs from fresh noise, per class when it has classes, each ending with the
    /// mean of the data's images of that class: what squared error drives it to.
    static func pureNoiseSamples(_ unet: TinyUNet, images: Dataset?, seed: UInt64) throws -> [[(String, Tensor)]] {
        var rng = RandomSource(seed: seed)
        let classes = unet.config.classes
        let perRow = 5
        return try (classes.isEmpty ? [nil] : classes.indices.map { Optional($0) }).map { k in
            let z = rng.gaussian([perRow, unet.config.channels, 28, 28])
            var c: Tensor?
            if let k {
                c = Tensor(zeros: [perRow, classes.count])
                for i in 0..<perRow { c![i, k] = 1 }
            }
            let y = try unet.forward(z, t: Tensor(repeating: 1, shape: [perRow, 1]), c: c)
            let name = k.map { classes[$0] } ?? "from noise"
            var row = (0..<perRow).map { (name, TrainingReport.clamp(y.slice(batch: $0..<($0 + 1)))) }
            if let images, let mean = mean(of: images, label: k) { row.append(("data mean", mean)) }
            return row
        }
    }

    /// The mean image of `images` with `label` (all of them when nil), or nil when there is none.
    static func mean(of images: Dataset, label: Int?) -> Tensor? {
        let chosen = (0..<images.count).filter { label == nil || images.labels[$0] == label }
        guard !chosen.isEmpty else { return nil }
        let plane = images.height * images.width
        let out = Tensor(zeros: [1, 1, images.height, images.width])
        images.images.withUnsafeBufferPointer { src in
            for i in chosen { for j in 0..<plane { out.pointer[j] += Float(src[i * plane + j]) } }
        }
        for j in 0..<plane { out.pointer[j] /= 255 * Float(chosen.count) }
        return out
    }

    static func noised(_ x: Tensor, sigma: Float, rng: inout RandomSource) -> Tensor {
        let z = rng.gaussian(x.shape)
        let out = Tensor(uninitialized: x.shape)
        for i in 0..<x.count { out.pointer[i] = x.pointer[i] + sigma * z.pointer[i] }
        return out
    }
}
