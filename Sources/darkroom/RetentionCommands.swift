import ArgumentParser
import DarkroomDaemon
import DarkroomGallery
import DarkroomJobModel
import DarkroomStore
import Foundation

/// `darkroom prune`: remove what config.json's retention says (or what `--older-than` says), on either engine.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove ended jobs past the retention (folders, rows, inputs, results, pages) and old set-aside files.",
        discussion: """
            config.json's "retention" says what goes: "days" (ended jobs older than this), "max_jobs" (ended jobs older \
            than the newest this many), "rejected_days" (files in inbox/rejected/ and inbox/duplicates/), "keep_starred" \
            (default true). Queued and running jobs are never removed; starred ones (`darkroom star`) are kept. \
            `watch` runs the same prune once a day.
            """)

    @OptionGroup var configOption: ConfigOption
    @Flag(help: "List what would be removed and the space it would free; remove nothing.")
    var dryRun = false
    @Option(help: "Remove ended jobs older than this many days (instead of retention's \"days\"; the rest of the retention still applies).")
    var olderThan: Double?

    func validate() throws {
        if let olderThan, !(olderThan >= 0 && olderThan <= 36_500) { throw ValidationError("--older-than: \(olderThan) must be between 0 and 36500 days") }
    }

    func run() throws {
        let config = try configOption.load()
        var policy = config.retention
        if let olderThan { policy.days = olderThan }
        if policy.removesNothing {
            print("nothing to remove: config.json has no \"retention\" (README, \"Retention\") and no --older-than was given")
            return
        }
        let store = try openJobStore(config.database)
        let pruner = Pruner(store: store, gallery: config.gallery, inbox: config.inbox, policy: policy)
        let report = try pruner.prune(dryRun: dryRun) {
            let gallery = try Gallery(folder: config.gallery, templates: config.templates, store: store)
            try gallery.bindToDatabase(config.database)
            try gallery.writeIndex()
        }
        for line in report.lines { print(line) }
    }
}

/// `darkroom star` / `unstar`: keep a job whatever the retention; the gallery shows the star and filters by it.
struct StarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "star", abstract: "Star a job: kept whatever the retention, marked and filterable in the gallery.")

    @OptionGroup var configOption: ConfigOption
    @Argument(help: "Job id.")
    var id: Int64

    func run() throws { try StarCommand.set(id, true, configOption) }

    static func set(_ id: Int64, _ starred: Bool, _ option: ConfigOption) throws {
        let store = try openJobStore(try option.load().database)
        guard try store.setStarred(id, starred) else { throw ValidationError("no job \(id)") }
        print(starred ? "job \(id) starred: kept whatever the retention" : "job \(id) unstarred")
    }
}

struct UnstarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unstar", abstract: "Unstar a job: retention applies to it again.")

    @OptionGroup var configOption: ConfigOption
    @Argument(help: "Job id.")
    var id: Int64

    func run() throws { try StarCommand.set(id, false, configOption) }
}
