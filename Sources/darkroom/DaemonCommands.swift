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
    func load(checkFolders: Bool = true) throws -> DarkroomConfig {
        let loaded = try DarkroomConfig.load(path: config, checkFolders: checkFolders)
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
    @Flag(help: "Intake and gallery only: run no jobs here (`darkroom worker` runs them, on this host or others).")
    var noWorker = false
    @Option(help: "Least important log lines shown: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
    }
    @OptionGroup var engine: EngineOptions

    func run() throws {
        let config = try ServiceSetup.start(configOption, logLevel: logLevel, engine: engine)
        if once && noWorker { throw ValidationError("--once runs the queue to the end, which needs a worker: leave out --no-worker") }
        let daemon = try Daemon(config: config, runsWorker: !noWorker)
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

/// `darkroom worker`: run jobs only.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run queued jobs only: no inbox, no gallery (for more hosts on a PostgreSQL queue, or more processes on one).",
        discussion: """
            Needs config.json's "database" and "models" only; inputs and results travel through the database, and the host \
            running `darkroom watch` (or `watch --no-worker`) writes them into the gallery. SIGTERM or Ctrl-C stops cleanly: \
            the running job is returned to the queue. A worker killed outright loses its lease after "lease_seconds", and \
            any other process then queues its job again.
            """
    )

    @OptionGroup var configOption: ConfigOption
    @Option(help: "This worker's name in the database (default: HOST/PID/random).")
    var name: String?
    @Option(help: "Least important log lines shown: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        if let name, name.isEmpty || name.count > 200 || name == WorkerIdentity.daemon {
            throw ValidationError("--name: give 1 to 200 characters, not the daemon's own worker name")
        }
    }

    func run() throws {
        let config = try ServiceSetup.start(configOption, logLevel: logLevel, engine: engine, needsFolders: false)
        try WorkerProcess(config: config, id: name ?? WorkerIdentity.process()).run()
    }
}

/// What `watch` and `worker` do before they start: logging to stderr in journald's form, threads, signals.
enum ServiceSetup {
    static func start(_ option: ConfigOption, logLevel: String, engine: EngineOptions, needsFolders: Bool = true) throws -> DarkroomConfig {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { JournaldLogHandler(label: $0, level: level) }
        let config = try option.load(checkFolders: needsFolders)
        if engine.threads == nil, let t = config.threads { Engine.threads = t } else { engine.apply() }
        signal(SIGTERM) { _ in daemonStopRequested = 1 }
        signal(SIGINT) { _ in daemonStopRequested = 1 }
        // SIGHUP (a closed terminal, or `systemctl reload`) and the user signals are logged, never fatal.
        for s in [SIGHUP, SIGUSR1, SIGUSR2] { signal(s) { daemonIgnoredSignal = $0 } }
        signal(SIGPIPE, SIG_IGN)
        return config
    }
}

/// `darkroom retry`: put a failed or rejected job back in the queue.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue a failed or cancelled job again.")

    @OptionGroup var configOption: ConfigOption
    @Argument(help: "Job id.")
    var id: Int64

    func run() throws {
        let store = try openJobStore(try configOption.load().database)
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
        let store = try openJobStore(config.database)
        let lock = try lockDatabase(config.database, store: store)
        defer { withExtendedLifetime(lock) {} }
        let forgotten = try store.forgetMissingResults()
        var missingFolders = 0
        // A job whose inputs the database holds can still run (on any host); older jobs had them only in their folder.
        for job in try store.jobs(state: .queued) where !FileManager.default.fileExists(atPath: job.folder) {
            guard try store.inputs(of: job.id!).isEmpty else { continue }
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
    @Flag(help: "Rebuild every page (index and all job pages) and restore every job's inputs and results from the database alone.")
    var rebuild = false

    func run() throws {
        let config = try configOption.load()
        let store = try openJobStore(config.database)
        let gallery = try Gallery(folder: config.gallery, templates: config.templates, store: store)
        try gallery.bindToDatabase(config.database)
        gallery.pathLabels = Gallery.pathLabels(inbox: config.inbox, gallery: config.gallery, models: config.models)
        let start = Date()
        if rebuild { try gallery.rebuild() } else { try gallery.writeIndex() }
        print(String(format: "gallery written to %@/index.html in %.2f s", config.gallery, Date().timeIntervalSince(start)))
    }
}
