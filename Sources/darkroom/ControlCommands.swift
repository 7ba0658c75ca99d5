import ArgumentParser
import DarkroomStore
import Foundation

/// `darkroom cancel`: stop a queued or running job.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a job: a queued one at once, a running one at its next step.",
        discussion: "A cancelled running job keeps what it made (the progress GIF so far). `darkroom retry ID` queues it again.")

    @OptionGroup var configOption: ConfigOption
    @Argument(help: "Job id.")
    var id: Int64

    func run() throws {
        let store = try openJobStore(try configOption.load().database)
        switch try store.cancel(id) {
        case nil: throw ValidationError("no job \(id)")
        case .queued: print("job \(id) cancelled")
        case .running: print("job \(id) will stop at its next step (the daemon marks it cancelled)")
        case let state?: throw ValidationError("job \(id) is \(state.rawValue); only queued and running jobs can be cancelled")
        }
    }
}

/// `darkroom pause`: the worker takes no new job (the running one finishes).
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Take no new jobs until `darkroom resume` (the running job finishes; survives restarts).")

    @OptionGroup var configOption: ConfigOption

    func run() throws {
        try openJobStore(try configOption.load().database).setPaused(true)
        print("paused: the running job finishes, no new job starts until `darkroom resume`")
    }
}

/// `darkroom resume`: the worker takes jobs again.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Take jobs again after `darkroom pause`.")

    @OptionGroup var configOption: ConfigOption

    func run() throws {
        try openJobStore(try configOption.load().database).setPaused(false)
        print("resumed")
    }
}
