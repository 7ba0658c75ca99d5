import ArgumentParser
import DarkroomDiffusion
import DarkroomJobs
import DarkroomTensor
import Foundation

/// `darkroom run`: one job from a sidecar, without the daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one job from a sidecar JSON file and print a JSON summary.",
        discussion: "The sidecar format is the one the inbox daemon reads (see the README)."
    )

    @Argument(help: "The sidecar JSON file.")
    var sidecar: String
    @Option(help: "Config file.")
    var config = "config.json"
    @Option(help: "Folder for the results (default: GALLERY/runs/NAME).")
    var out: String?
    @OptionGroup var engine: EngineOptions

    func run() throws {
        let cfg = try DarkroomConfig.load(path: config)
        if engine.threads == nil, let t = cfg.threads { Engine.threads = t } else { engine.apply() }
        let name = ((sidecar as NSString).lastPathComponent as NSString).deletingPathExtension
        let folder = out ?? ((cfg.gallery as NSString).appendingPathComponent("runs") as NSString).appendingPathComponent(name)
        let bar = StepBar()
        let runner = JobRunner(config: cfg, progress: { info, label in bar.show(info, label); return true })
        var summary: [String: Any] = ["id": name]
        do {
            let result = try runner.run(sidecarPath: sidecar, outFolder: folder)
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
