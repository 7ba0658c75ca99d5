import Foundation
import DarkroomJobModel
import DarkroomSupport

/// Photos at the inbox's top level that no sidecar names: they wait, and the log says once what to do with them.
extension Intake {
    /// Logs, once each, photos at the inbox's top level that no sidecar has named for a while: they wait for one.
    /// The first few of a listing are named; the rest are counted in one line.
    func noteLoosePhotos(_ names: [String], now: Date) {
        var loose: [String] = []
        var present: Set<String>?
        for name in names where FolderLayout.isImageName(name) && !loggedLoose.contains(name) && !FolderLayout.isMaskName(name) {
            if present == nil { present = Set(names) }
            guard !config.ignore.ignoresFile(name), present?.contains(FolderLayout.sidecarName(forImage: name)) == false,
                  let e = inbox.entry(name), e.kind == .regular else { continue }
            guard now.timeIntervalSince(e.modified) >= Intake.looseAfter else {
                listingNeeded = true  // logged by a later listing, once it is old enough
                continue
            }
            loose.append(name)
        }
        guard !loose.isEmpty else { return }
        loose.sort()
        loggedLoose.formUnion(loose)
        let presets = config.presets.keys.sorted().prefix(3).map { "inbox/\($0)/" }
        let how = presets.isEmpty ? "add a preset to config.json and drop photos into its folder"
            : "drop it into a preset folder (\(presets.joined(separator: ", ")))"
        for name in loose.prefix(Intake.looseNamed) {
            DaemonLog.info("'\(JobError.quote(name))' has no sidecar, so it waits: drop \(JobError.quote(FolderLayout.sidecarName(forImage: name))) beside it (e.g. {\"mode\": \"sdedit\", \"prompt\": \"…\"}), or \(how)")
        }
        if loose.count > Intake.looseNamed {
            DaemonLog.info("\(loose.count - Intake.looseNamed) more photos have no sidecar and wait, from '\(JobError.quote(loose[Intake.looseNamed]))' to '\(JobError.quote(loose[loose.count - 1]))'")
        }
    }
    /// How many photos without a sidecar one listing names in the log.
    static let looseNamed = 10
    /// How long a photo without a sidecar waits before it is logged.
    static let looseAfter: Double = 2

}
