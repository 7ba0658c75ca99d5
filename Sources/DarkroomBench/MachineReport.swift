import DarkroomSupport
import DarkroomTensor
import Foundation

/// What every benchmark figure depends on: the CPU, OpenBLAS's kernel set and who chose it, and sgemm's measured
/// peak with that kernel. `darkroom bench` prints it before any figure, and every benchmark's JSON carries it as
/// `"machine"`.
public struct MachineReport: Sendable {
    public let cpu: CPUInfo
    public let blas: BLASKernel
    public let threads: Int
    /// The best of a few 1024³ sgemm runs, at `threads`, in GFLOP/s (nil: not measured).
    public let sgemmPeakGflops: Double?

    /// Measured once per process (about half a second).
    public static let shared = MachineReport.measure()
    /// CPU and kernel alone, without timing sgemm (for `bench --machine --skip-kernels`).
    public static var unmeasured: MachineReport { MachineReport(cpu: .current, blas: .current, threads: Engine.threads, sgemmPeakGflops: nil) }

    static func measure() -> MachineReport {
        let n = 1024
        var rng = RandomSource(seed: 5)
        let a = rng.gaussian([n, n]), b = rng.gaussian([n, n]), c = Tensor(zeros: [n, n])
        var best = Double.infinity
        let start = DispatchTime.now().uptimeNanoseconds
        var runs = 0
        while runs < 3 || (runs < 50 && Double(DispatchTime.now().uptimeNanoseconds - start) < 0.5e9) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            sgemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            runs += 1
        }
        return MachineReport(cpu: .current, blas: .current, threads: Engine.threads, sgemmPeakGflops: 2 * Double(n * n * n) / best / 1e9)
    }

    /// The `"machine"` object of a benchmark's JSON.
    public var json: [String: Any] {
        var blasObject: [String: Any] = ["core": blas.core, "config": blas.config, "chosen_by": blas.chooser.rawValue, "threads": threads]
        if let sgemmPeakGflops { blasObject["sgemm_peak_gflops"] = sgemmPeakGflops }
        if let own = blas.openBLASChoice { blasObject["openblas_own_choice"] = own }
        let oneDNN: [String: Any] = ["library": OneDNN.summary, "available": OneDNN.isAvailable, "convolutions": ConvolutionChoice.mode]
        return ["onednn": oneDNN, "cpu": ["name": cpu.name, "vendor": cpu.vendor, "family": cpu.family, "model": cpu.model, "stepping": cpu.stepping,
                        "features": cpu.features.sorted().map(\.rawValue)] as [String: Any],
                "blas": blasObject]
    }

    /// Four lines: CPU, BLAS kernel, oneDNN and how convolutions are chosen, sgemm peak.
    public var text: String {
        "CPU:  \(cpu.summary)\nBLAS: \(blas.summary)\nDNN:  \(OneDNN.summary); 3x3 convolutions \(ConvolutionChoice.mode)"
            + (sgemmPeakGflops.map { String(format: "\n      sgemm 1024^3 peak %.1f GFLOP/s at %d threads", $0, threads) } ?? "")
    }

    /// Prints a benchmark's JSON: `object` with the `"machine"` key added, keys sorted, on one line.
    public static func printJSON(_ object: [String: Any], report: MachineReport = shared) throws {
        var object = object
        object["machine"] = report.json
        let choices = ConvolutionChoice.taken
        if !choices.isEmpty {
            object["convolution_choices"] = choices.map { d -> [String: Any] in
                var entry: [String: Any] = ["pass": d.pass, "shape": d.shape, "threads": d.threads, "own": d.own, "backend": d.backend.rawValue,
                                            "seconds": Dictionary(uniqueKeysWithValues: d.seconds.map { ($0.key.rawValue, $0.value) })]
                if let implementation = d.implementation { entry["implementation"] = implementation }
                return entry
            }
        }
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}
