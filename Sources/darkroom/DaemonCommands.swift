import ArgumentParser
import DarkroomDaemon
import DarkroomGallery
import DarkroomJobs
import DarkroomStore
import DarkroomTensor
import Foundation
import Logging

/// Options shared by the commands that read config.json.
struct ConfigOption: ParsableArguments {
    @Option(help: "Config file.")
    var config = "config.json"

    /// Reads config.json; started as root on a database another user owns (the service's), continues as that user,
    /// so that files SQLite creates beside the database (`-wal`, `-shm`) stay the service's.
    func load() throws -> DarkroomConfig {
        let loaded = try DarkroomConfig.load(path: config)
        try DatabaseOwner.adopt(loaded.database)
        return loaded
    }
}

/// Running as the owner of the job database (or of its folder, before it exists), with that user's groups.
enum DatabaseOwner {
    static func adopt(_ database: String) throws {
        guard geteuid() == 0 else { return }
        var s = stat()
        guard stat(database, &s) == 0 || stat((database as NSString).deletingLastPathComponent, &s) == 0, s.st_uid != 0,
              let user = getpwuid(s.st_uid) else { return }
        guard initgroups(user.pointee.pw_name, user.pointee.pw_gid) == 0, setgid(user.pointee.pw_gid) == 0, setuid(s.st_uid) == 0 else {
            throw ValidationError("database: \(database) belongs to uid \(s.st_uid) and this process could not become it: \(String(cString: strerror(errno)))")
        }
    }
}

/// `darkroom watch`: the daemon.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch the inbox and run every job dropped there (the systemd service runs this).",
        discussion: "SIGTERM or Ctrl-C stops cleanly: the running job is returned to the queue. Logs go to stderr with journald priority prefixes."
    )

    @OptionGroup var configOption: ConfigOption
    @Flag(help: "Process what is in the inbox and the queue, then exit.")
    var once = false
    @Flag(help: "Start paused: take drops into the queue but run no job until `darkroom resume`.")
    var paused = false
    @Option(help: "Least important log lines shown: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
    }
    @OptionGroup var engine: EngineOptions

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { JournaldLogHandler(label: $0, level: level) }
        let config = try configOption.load()
        if engine.threads == nil, let t = config.threads { Engine.threads = t } else { engine.apply() }
        signal(SIGTERM) { _ in daemonStopRequested = 1 }
        signal(SIGINT) { _ in daemonStopRequested = 1 }
        // SIGHUP (a closed terminal, or `systemctl reload`) and the user signals are logged, never fatal.
        for s in [SIGHUP, SIGUSR1, SIGUSR2] { signal(s) { daemonIgnoredSignal = $0 } }
        signal(SIGPIPE, SIG_IGN)
        let daemon = try Daemon(config: config)
        if paused { try daemon.store.setPaused(true) }
        if once {
            try daemon.runOnce()
            let counts = try daemon.store.counts()
            print("done: \(counts[.done] ?? 0), failed: \(counts[.failed] ?? 0), rejected: \(counts[.rejected] ?? 0), queued: \(counts[.queued] ?? 0)")
            print("results in \(config.gallery)/jobs/<id>/")
        } else {
            try daemon.run()
        }
    }
}

/// `darkroom retry`: put a failed or rejected job back in the queue.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue a failed or cancelled job again.")

    @OptionGroup var configOption: ConfigOption
    @Argument(help: "Job id.")
    var id: Int64

    func run() throws {
        let store = try JobStore(path: try configOption.load().database)
        guard try store.job(id) != nil else { throw ValidationError("no job \(id)") }
        guard try store.retry(id) else {
            if try store.job(id)?.state == .rejected {
                throw ValidationError("job \(id) was rejected at intake and has nothing to run: fix the sidecar (its files and the reason are in the inbox's rejected/ folder) and drop it again")
            }
            throw ValidationError("job \(id) is not failed or cancelled")
        }
        print("job \(id) queued again")
    }
}

/// `darkroom reconcile`: repair the database after files were removed by hand.
struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reconcile", abstract: "Forget result files that no longer exist; fail queued jobs whose folder is gone.")

    @OptionGroup var configOption: ConfigOption

    func run() throws {
        let config = try configOption.load()
        // Only with no daemon running: recovery must never touch a job a live process holds.
        let lock = try DatabaseLock(database: config.database)
        defer { withExtendedLifetime(lock) {} }
        let store = try JobStore(path: config.database)
        let forgotten = try store.forgetMissingResults()
        var missingFolders = 0
        for job in try store.jobs(state: .queued) where !FileManager.default.fileExists(atPath: job.folder) {
            try store.fail(job.id!, error: "job folder \(job.folder) was removed")
            missingFolders += 1
        }
        print("forgot \(forgotten) missing result file(s); failed \(missingFolders) queued job(s) whose folder is gone")
    }
}

/// `darkroom gallery`: re-render the HTML gallery.
struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gallery", abstract: "Re-render the static HTML gallery from the database.")

    @OptionGroup var configOption: ConfigOption
    @Flag(help: "Rebuild every page (index and all job pages) from the database alone.")
    var rebuild = false

    func run() throws {
        let config = try configOption.load()
        let store = try JobStore(path: config.database)
        let gallery = try Gallery(folder: config.gallery, templates: config.templates, store: store)
        try gallery.bindToDatabase(config.database)
        gallery.pathLabels = Gallery.pathLabels(inbox: config.inbox, gallery: config.gallery, models: config.models)
        let start = Date()
        if rebuild { try gallery.rebuild() } else { try gallery.writeIndex() }
        print(String(format: "gallery written to %@/index.html in %.2f s", config.gallery, Date().timeIntervalSince(start)))
    }
}
