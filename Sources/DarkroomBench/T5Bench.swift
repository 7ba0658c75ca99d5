import Foundation
import DarkroomModels
import DarkroomTensor

/// Times DeepFloyd IF's T5 encoder on one 77-token prompt: the first encode (weights read from the page cache or the
/// disk), then repeated encodes; reports the median, the arithmetic rate, the peak RSS and the time by part.
public struct T5Bench {
    let folder: String
    let seconds: Double
    let json: Bool

    public init(folder: String, seconds: Double, json: Bool) {
        self.folder = folder
        self.seconds = seconds
        self.json = json
    }

    /// A prompt that fills all 77 tokens, so every attention row sees every key.
    static let prompt = Array(repeating: "an oil painting of a snowy mountain village at dawn", count: 12).joined(separator: ", ")

    public func run() throws {
        guard let location = T5TextEncoder.Location.find(in: folder) else {
            throw ModelError.badInput("\(folder) holds no tokenizer/spiece.model and text_encoder/config.json")
        }
        let t5 = try T5TextEncoder(location)
        let c = t5.encoder.config
        let (_, tokens, _) = T5TextEncoder.tokens(T5Bench.prompt, tokenizer: t5.tokenizer)
        // Multiply–adds per encode: the four attention projections and the three feed-forward matrices per block, on
        // 77 rows; plus the attention products.
        let rows = Double(T5TextEncoder.tokenCount)
        let linear = Double(c.layers) * (4 * Double(c.dModel * c.inner) + 3 * Double(c.dModel * c.dFF)) * rows
        let attention = Double(c.layers) * 2 * rows * Double(tokens) * Double(c.inner)
        let flops = 2 * (linear + attention)

        var clock = Date()
        _ = try t5.embed(T5Bench.prompt)
        let first = Date().timeIntervalSince(clock)
        let profiler = LayerProfiler()
        t5.encoder.profiler = profiler
        var times: [Double] = []
        let deadline = Date().addingTimeInterval(seconds)
        while times.count < 2 || (Date() < deadline && times.count < 20) {
            clock = Date()
            _ = try t5.embed(T5Bench.prompt)
            times.append(Date().timeIntervalSince(clock))
        }
        times.sort()
        let median = times[times.count / 2]
        let rss = T5Bench.peakRSSBytes()
        let parts = profiler.totals.map { (kind: $0.kind, seconds: $0.seconds / Double(times.count)) }
        if json {
            let object: [String: Any] = [
                "layers": c.layers, "d_model": c.dModel, "d_ff": c.dFF, "heads": c.heads, "tokens": tokens,
                "half": t5.encoder.isHalf, "threads": Engine.threads, "first_seconds": first, "median_seconds": median,
                "min_seconds": times[0], "runs": times.count, "gflops": flops / 1e9, "gflop_per_s": flops / median / 1e9,
                "peak_rss_bytes": rss, "parts": Dictionary(uniqueKeysWithValues: parts.map { ($0.kind, $0.seconds) }),
            ]
            try MachineReport.printJSON(object)
            return
        }
        print(String(format: "T5 encoder: d_model %d, %d heads × %d, d_ff %d, %d blocks, %@ weights, %d threads", c.dModel, c.heads, c.dKV, c.dFF,
                     c.layers, t5.encoder.isHalf ? "16-bit" : "fp32", Engine.threads))
        print(String(format: "one 77-token encode (%d real tokens): first %.3f s, median %.3f s of %d (best %.3f s); %.1f GFLOP, %.1f GFLOP/s; peak RSS %.2f GB",
                     tokens, first, median, times.count, times[0], flops / 1e9, flops / median / 1e9, Double(rss) / 1e9))
        for p in parts { print("  " + p.kind.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%.3f s per encode", p.seconds)) }
    }

    /// The process's peak resident set so far.
    static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
