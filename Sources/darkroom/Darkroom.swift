// darkroom: the command-line tool (forward passes, benchmarks; later the daemon, edits and training).
import ArgumentParser
import DarkroomTensor

@main
struct Darkroom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "darkroom",
        abstract: "A folder-driven diffusion image studio on the CPU.",
        subcommands: [WatchCommand.self, WorkerCommand.self, RunCommand.self, StatusCommand.self, PresetsCommand.self, CancelCommand.self, PauseCommand.self, ResumeCommand.self, RetryCommand.self, ReconcileCommand.self, StarCommand.self, UnstarCommand.self, PruneCommand.self, GalleryCommand.self, TrainCommand.self, EvalCommand.self, ForwardCommand.self, EncodeCommand.self, BenchCommand.self]
    )

    /// Runs with the widest OpenBLAS kernels the CPU allows (the process may be executed again for that, before
    /// anything else happens), then parses the command line.
    static func main() {
        BLASKernel.selectAtStartup()
        OneDNN.prepareEnvironment()
        main(nil)
    }
}

/// Options every compute command accepts.
struct EngineOptions: ParsableArguments {
    @Option(help: "Threads for the engine and OpenBLAS (default: all cores).")
    var threads: Int?

    func apply() {
        if let threads { Engine.threads = threads } else { Engine.threads = Engine.threads }
    }
}
