import ArgumentParser
import DarkroomDiffusion
import DarkroomImaging
import DarkroomJobs
import DarkroomTensor
import Foundation

/// `darkroom run`: one job from a sidecar, or again from a result PNG, without the daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one job from a sidecar JSON file, or again from a result PNG, and print a JSON summary.",
        discussion: """
            The sidecar format is the one the inbox daemon reads (see the README). Given a result PNG (result.png, \
            result-2.png … in a job folder), the job is read from its 'darkroom' chunk and run again with the same \
            model, inputs and seed, which gives the same bytes; --seed changes only the seed.
            """
    )

    @Argument(help: "The sidecar JSON file, or a result PNG to run again.")
    var sidecar: String
    @Option(help: "Run with this seed instead (a result PNG's or a sidecar's).")
    var seed: UInt64?
    @Option(help: "Config file.")
    var config = "config.json"
    @Option(help: "Folder for the results (default: GALLERY/runs/NAME).")
    var out: String?
    @OptionGroup var engine: EngineOptions

    func run() throws {
        let cfg = try DarkroomConfig.load(path: config)
        if engine.threads == nil, let t = cfg.threads { Engine.threads = t } else { engine.apply() }
        let isResult = FileManager.default.contents(atPath: sidecar).map { ImageDecoder.format(of: $0) == .png } ?? false
        let name = runName(isResult: isResult)
        let folder = out ?? ((cfg.gallery as NSString).appendingPathComponent("runs") as NSString).appendingPathComponent(name)
        let bar = StepBar()
        let runner = JobRunner(config: cfg, progress: { info, label in bar.show(info, label); return true })
        var summary: [String: Any] = ["id": name]
        do {
            var job = isResult
                ? try runner.prepare(resultPNG: sidecar, seed: seed) { FileHandle.standardError.write(Data("darkroom: \($0)\n".utf8)) }
                : try runner.prepare(sidecarPath: sidecar)
            if let seed, !isResult { job.request.seed = seed }
            let result = try runner.execute(job, outFolder: folder)
            bar.finish()
            summary["status"] = "done"
            summary["outputs"] = result.outputs.map { URL(fileURLWithPath: $0.path).standardized.path }
            summary["seed"] = result.request.seed
            summary["model"] = result.model
            summary["seconds"] = result.seconds
        } catch {
            bar.finish()
            summary["status"] = "failed"
            summary["error"] = "\(error)"
        }
        summary["outputs"] = summary["outputs"] ?? [String]()
        summary["error"] = summary["error"] ?? NSNull()
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        if summary["status"] as? String != "done" { throw ExitCode.failure }
    }
}

extension RunCommand {
    /// The run's name (its folder under GALLERY/runs): a sidecar's stem; for a result PNG its job folder's name and its
    /// own (`12-result`); and the seed when `--seed` gives one.
    func runName(isResult: Bool) -> String {
        let stem = ((sidecar as NSString).lastPathComponent as NSString).deletingPathExtension
        let parent = (URL(fileURLWithPath: sidecar).standardized.deletingLastPathComponent().lastPathComponent)
        let base = !isResult || parent.isEmpty || parent == "/" ? stem : parent + "-" + stem
        return seed.map { base + "-seed-\($0)" } ?? base
    }
}

/// Sampler progress on stderr: redrawn in place on a terminal, silent otherwise.
final class StepBar {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var open = false

    func show(_ info: StepInfo, _ label: String) {
        guard isTerminal else { return }
        let width = 30
        let filled = width * info.index / max(info.count, 1)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write("\r\(label) \(bar) \(info.index)/\(info.count)".data(using: .utf8)!)
        open = true
    }

    func finish() {
        if open { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        open = false
    }
}
