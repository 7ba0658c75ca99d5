import ArgumentParser
import DarkroomBench
import DarkroomModels
import DarkroomTensor
import Foundation

/// `darkroom bench`: forward latency of the small UNet and the conv path's sustained GFLOP/s.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the small UNet's forward pass and the engine's convolution throughput.",
        discussion: "Build with -c release before benchmarking. scripts/bench/compare_unet_forward.py puts PyTorch beside it."
    )

    @Option(help: "Hidden width D of the benchmarked UNet.")
    var hidden = 64
    @Option(help: "Number of classes K (0 = time-only).")
    var classes = 10
    @Option(help: "Image channels C.")
    var channels = 1
    @Option(parsing: .upToNextOption, help: "Batch sizes to time.")
    var batch: [Int] = [1, 64]
    @Option(help: "Checkpoint folder to time instead of random weights (a small UNet, a diffusers IF stage I folder, or a folder holding only IF's tokenizer/ and text_encoder/: times one T5 encode).")
    var model: String?
    @Option(help: "Seconds to spend timing each case (after one warm-up run).")
    var seconds = 3.0
    @Flag(help: "Time a full generate (every DDPM step, CFG) per batch size instead of single forwards.")
    var generate = false
    @Flag(help: "Time training steps (batch from --batch, first value) instead of forwards.")
    var train = false
    @Option(help: "Training steps to time with --train.")
    var steps = 5
    @Option(help: "Time a gallery rebuild for this many synthetic jobs, and a 60-frame 256×256 colour GIF encode.")
    var outputs: Int?
    @Option(help: "Time the job queue with this many jobs per case: the store alone and end to end, with 1, 2 and 4 workers, on SQLite and (with --postgres) PostgreSQL.")
    var queue: Int?
    @Option(help: "With --queue: a PostgreSQL database to use (emptied first!), e.g. postgresql://darkroom@127.0.0.1:5432/bench.")
    var postgres: String?
    @Option(help: "With --queue: jobs per end-to-end case (default: a tenth of --queue, at least 50).")
    var endToEnd: Int?
    @Option(help: "Time an idle darkroom watch (worker included) over an inbox holding this many unrelated files, then with one more arriving per second: CPU in percent of one core.")
    var idle: Int?
    @Option(help: "With --idle: seconds of idling to measure.")
    var idleSeconds = 30.0
    @Flag(help: "Skip the conv and sgemm throughput measurements (with --machine: sgemm's peak).")
    var skipKernels = false
    @Flag(help: "Time the small UNet's 3×3 convolution shapes by im2col, both Winograd algorithms and the direct kernels, gradients included (batch from --batch, first value).")
    var kernels = false
    @Option(help: "With --kernels: time C→C at S×S instead of the small UNet's shapes (repeatable), e.g. 192x64.")
    var kernelShape: [String] = []
    @Flag(help: "With an IF model: also report the time per layer type.")
    var profile = false
    @Flag(help: "Print only the machine: CPU (cpuid), OpenBLAS's kernel set and who chose it, sgemm's measured peak.")
    var machine = false
    @Flag(help: "Print one JSON object instead of text.")
    var json = false
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        if machine {
            let report = skipKernels ? MachineReport.unmeasured : MachineReport.shared
            if json {
                try MachineReport.printJSON([:], report: report)
            } else {
                print(report.text)
            }
            return
        }
        if !json { print(MachineReport.shared.text) }
        // Which kernel each 3×3 convolution shape ran with, after the figures (the JSON carries the same).
        defer { if !json { for decision in ConvolutionChoice.taken { print("conv: \(decision)") } } }
        if let jobs = queue {
            try QueueBenchReport(jobs: jobs, endToEnd: endToEnd ?? max(50, jobs / 10), postgres: postgres).run()
            return
        }
        if let files = idle {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-idle-\(getpid())")
            defer { try? FileManager.default.removeItem(at: folder) }
            let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let f = try IdleBench.run(files: files, seconds: idleSeconds, binary: binary, folder: folder)
            if json {
                try MachineReport.printJSON(["idle_files": f.files, "idle_seconds": f.seconds, "idle_cpu_seconds": f.cpuSeconds,
                                             "idle_percent_of_core": f.percentOfCore, "arriving_percent_of_core": f.churnPercentOfCore,
                                             "arriving_cpu_seconds": f.churnCPUSeconds])
            } else {
                print(String(format: "idle darkroom watch, %d unrelated files in the inbox: %.2f%% of a core (%.3f s of CPU in %.1f s)",
                             f.files, f.percentOfCore, f.cpuSeconds, f.seconds))
                print(String(format: "  with one more unrelated file arriving per second: %.2f%% of a core (%.3f s of CPU in %.1f s)",
                             f.churnPercentOfCore, f.churnCPUSeconds, f.churnSeconds))
            }
            return
        }
        if let jobs = outputs {
            let g = try OutputBench.gallery(jobs: jobs)
            print(String(format: "gallery for %d jobs: first full rebuild %.2f s (every job page + index), rebuild with nothing changed %.2f s, index alone %.2f s",
                         jobs, g.rebuild, g.again, g.index))
            if let s = g.search {
                print(String(format: "search box in headless Chromium: search.js %.1f MB, a two-word search %d ms to filter and draw (%@; loading search.js not counted)",
                             Double(s.indexBytes) / 1e6, s.milliseconds, s.matches))
            } else {
                print("search box: not timed (no Chromium, or the page reported no search)")
            }
            print(String(format: "GIF: 60 frames of 256x256 colour encoded in %.3f s (median-cut palette included)", try OutputBench.gif()))
            return
        }
        if let model, !IFUNet.isIFFolder(model), T5TextEncoder.Location.find(in: model) != nil {
            try T5Bench(folder: model, seconds: seconds, json: json).run()
            return
        }
        if let model, IFUNet.isIFFolder(model) {
            try IFBench(folder: model, batches: batch, seconds: seconds, profile: profile, json: json).run()
            return
        }
        let unet: TinyUNet
        if let model {
            unet = try TinyUNet(checkpoint: model)
        } else {
            let names = (0..<classes).map { "class\($0)" }
            unet = TinyUNet(config: TinyUNetConfig(channels: channels, hidden: hidden, classes: names), randomSeed: 0)
        }
        let config = unet.config
        if train {
            let rate = try Benchmarks.train(config, batch: batch.first ?? 128, steps: steps)
            if json {
                let object: [String: Any] = ["train_images_per_s": rate, "hidden": config.hidden, "batch": batch.first ?? 128, "threads": Engine.threads]
                try MachineReport.printJSON(object)
            } else {
                print(String(format: "training D=%d batch %d, %d threads: %.1f images/s", config.hidden, batch.first ?? 128, Engine.threads, rate))
            }
            return
        }
        if kernels {
            var shapes: [(Int, Int)] = []
            for text in kernelShape {
                let parts = text.split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--kernel-shape \(text): expected CxS, e.g. 192x64") }
                shapes.append((parts[0], parts[1]))
            }
            let rows = try Benchmarks.convKernels(hidden: config.hidden, batch: batch.first ?? 128, seconds: seconds, shapes: shapes)
            let peak = MachineReport.shared.sgemmPeakGflops ?? 0   // measured once, for the header
            print("3x3 stride-1 convolutions \(shapes.isEmpty ? "of the D=\(config.hidden) small UNet" : "C->C at SxS"), batch \(batch.first ?? 128), \(Engine.threads) threads "
                  + "(direct-equivalent GFLOP/s; weights transformed at every call)")
            for r in rows {
                print("  " + r.layer.padding(toLength: 20, withPad: " ", startingAt: 0) + r.method.padding(toLength: 32, withPad: " ", startingAt: 0)
                      + String(format: "%9.3f ms  %7.1f GFLOP/s", r.milliseconds, r.gflops))
            }
            print(String(format: "  raw sgemm (1024^3) peak, as in the header: %.1f GFLOP/s", peak))
            return
        }
        if generate {
            let rows = try Benchmarks.generate(unet, batches: batch)
            if json {
                let object: [String: Any] = ["threads": Engine.threads, "hidden": config.hidden, "generate": rows]
                try MachineReport.printJSON(object)
                return
            }
            for r in rows {
                print(String(format: "generate batch %3d, %d DDPM steps with CFG: %.2f s total, %.2f s in the network, %.1f%% outside",
                             r["batch"] as! Int, r["steps"] as! Int, r["seconds"] as! Double, r["network_seconds"] as! Double,
                             100 * (r["outside_share"] as! Double)))
            }
            return
        }
        let results = try Benchmarks.forward(unet, batches: batch, seconds: seconds)
        let conv = skipKernels ? (conv: 0.0, gemm: 0.0) : try Benchmarks.convThroughput(seconds: seconds)
        if json {
            let object: [String: Any] = ["threads": Engine.threads, "hidden": config.hidden, "classes": config.classCount,
                                         "forward": results, "conv_gflops": conv.conv, "sgemm_gflops": conv.gemm]
            try MachineReport.printJSON(object)
            return
        }
        print("small UNet D=\(config.hidden) K=\(config.classCount) C=\(config.channels), \(Engine.threads) threads, "
              + String(format: "%.3f GFLOP per image", unet.flopsPerSample / 1e9))
        for r in results {
            print(String(format: "  forward batch %3d: %9.3f ms median (%.3f min, %d runs), %8.1f images/s, %6.1f GFLOP/s",
                         r["batch"] as! Int, r["median_ms"] as! Double, r["min_ms"] as! Double, r["runs"] as! Int,
                         r["images_per_s"] as! Double, r["gflops"] as! Double))
        }
        print(String(format: "  conv path (3x3, 64->64, 28x28, batch 64): %.1f GFLOP/s sustained", conv.conv))
        print(String(format: "  raw sgemm (1024^3): %.1f GFLOP/s", conv.gemm))
    }
}
