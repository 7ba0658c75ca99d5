import Foundation
import DarkroomJobModel
import DarkroomSupport

/// `watch` prunes by the same code as `darkroom prune`: a minute after it starts, then once a day, on the gallery
/// host's export thread (the gallery is locked meanwhile, so no page of a removed job is written again).
extension Daemon {
    /// Seconds between prunes (a test hook shortens it).
    static var pruneEvery: TimeInterval { TestHooks.pruneSeconds ?? 86_400 }

    /// Prunes when retention is set and the last prune is `pruneEvery` old.
    func pruneIfDue(now: Date = Date()) {
        guard !config.retention.removesNothing, now >= nextPrune else { return }
        nextPrune = now.addingTimeInterval(Daemon.pruneEvery)
        let pruner = Pruner(store: store, gallery: config.gallery, inbox: config.inbox, policy: config.retention)
        galleryLock.lock(); defer { galleryLock.unlock() }
        do {
            let report = try pruner.prune(dryRun: false, now: now) { try gallery.writeIndex() }
            if report.jobs.isEmpty && report.files.isEmpty { return }
            DaemonLog.info("retention: " + (report.lines.last ?? ""))
            for line in report.lines.dropLast() { DaemonLog.debug("retention: \(line)") }
        } catch {
            DaemonLog.error("retention: \(error)")
        }
    }
}
