import DarkroomModels
import DarkroomTensor
import Foundation

/// `darkroom bench --model IF_FOLDER`: forward latency of a DeepFloyd IF UNet (stage I, or stage II with the noise
/// level 250 as class label), optionally per layer type. Stage II forwards take tens of seconds: one is timed after
/// the warm-up unless `seconds` asks for more.
public struct IFBench {
    let folder: String
    let batches: [Int]
    let seconds: Double
    let profile: Bool
    let json: Bool

    public init(folder: String, batches: [Int], seconds: Double, profile: Bool, json: Bool) {
        self.folder = folder
        self.batches = batches
        self.seconds = seconds
        self.profile = profile
        self.json = json
    }

    public func run() throws {
        let loadStart = Date()
        let unet = try IFUNet(folder: folder)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let loadedBytes = residentBytes("VmRSS:")
        let c = unet.config
        let size = c.sampleSize
        var rng = RandomSource(seed: 3)
        var results: [[String: Any]] = []
        for b in batches {
            let x = rng.gaussian([b, c.inChannels, size, size])
            let e = rng.gaussian([b, 77, c.encoderHidDim])
            let t = (0..<b).map { Float(990 - 30 * $0) }
            let labels: [Float]? = c.hasClassEmbedding ? Array(repeating: 250, count: b) : nil
            _ = try unet.forward(x, timesteps: t, classLabels: labels, encoderHiddenStates: e)   // warm-up: pages in the weights
            var times: [Double] = []
            let profiler = LayerProfiler()
            let start = Date()
            let minimumRuns = c.isSuperResolution ? 1 : 2
            while times.count < minimumRuns || (Date().timeIntervalSince(start) < seconds && times.count < 50) {
                unet.profiler = profile ? profiler : nil
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try unet.forward(x, timesteps: t, classLabels: labels, encoderHiddenStates: e)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            unet.profiler = nil
            let sorted = times.sorted()
            var row: [String: Any] = ["batch": b, "median_s": sorted[sorted.count / 2], "min_s": sorted[0], "runs": times.count]
            if c.isSuperResolution { row["upscale_20_steps_s"] = 20 * sorted[sorted.count / 2] * (b == 2 ? 1 : 2 / Double(b)) }
            if profile {
                row["profile"] = profiler.totals.map { total -> [String: Any] in
                    var item: [String: Any] = ["kind": total.kind, "seconds_per_forward": total.seconds / Double(times.count)]
                    if total.flops > 0, total.seconds > 0 { item["gflop_per_s"] = total.flops / total.seconds / 1e9 }
                    return item
                }
            }
            results.append(row)
        }
        let peak = residentBytes("VmHWM:")
        if json {
            let object: [String: Any] = ["threads": Engine.threads, "load_s": loadSeconds, "peak_rss_bytes": peak, "rss_after_load_bytes": loadedBytes,
                                         "block_out_channels": c.blockOutChannels, "sample_size": size, "stage": c.isSuperResolution ? "II" : "I",
                                         "forward": results]
            try MachineReport.printJSON(object)
            return
        }
        print("IF stage \(c.isSuperResolution ? "II" : "I") UNet \(c.blockOutChannels), layers \(c.layersPerBlock), D=\(c.crossAttentionDim), E=\(c.encoderHidDim), \(size)x\(size), "
              + "\(Engine.threads) threads; loaded in " + String(format: "%.2f s", loadSeconds))
        for r in results {
            print(String(format: "  forward batch %d: %.3f s median (%.3f min, %d runs)", r["batch"] as! Int,
                         r["median_s"] as! Double, r["min_s"] as! Double, r["runs"] as! Int))
            if let upscale = r["upscale_20_steps_s"] as? Double {
                print(String(format: "  a 20-step upscale of one image (20 batch-2 forwards, guided): %.0f s", upscale))
            }
            for p in (r["profile"] as? [[String: Any]]) ?? [] {
                let share = (p["seconds_per_forward"] as! Double) / (r["median_s"] as! Double)
                let kind = (p["kind"] as! String).padding(toLength: 42, withPad: " ", startingAt: 0)
                let rate = (p["gflop_per_s"] as? Double).map { String(format: "  %6.1f GFLOP/s", $0) } ?? ""
                print("      " + kind + String(format: " %7.3f s  %5.1f%%", p["seconds_per_forward"] as! Double, 100 * share) + rate)
            }
        }
        print(String(format: "  RSS after loading %.2f GB, peak RSS %.2f GB", Double(loadedBytes) / 1e9, Double(peak) / 1e9))
    }

    /// A line of /proc/self/status in bytes: "VmRSS:" (resident now) or "VmHWM:" (peak).
    private func residentBytes(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }
}
