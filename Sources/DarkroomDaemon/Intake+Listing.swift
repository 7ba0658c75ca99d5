import Foundation
import DarkroomJobModel
import DarkroomSupport

/// When intake lists the inbox, and what it looks at in between.
///
/// Listing a folder of 20,000 unrelated files costs milliseconds, so it is not done at every scan: between two
/// periodic looks a scan looks only at the names inotify reported and at the drops it already knows that are not
/// taken yet; a periodic look lists the folder only if its modification time says an entry was added, removed or
/// renamed since the last listing, or once a minute whatever it says (file systems that send no events may also
/// cache or coarsen that time).
extension Intake {
    /// How often a scan is a periodic look (a full listing if the folder changed).
    public static let fullScanEvery: Double = 5
    /// How often a periodic look lists the inbox even though its modification time did not move.
    static let listingBackstop: Double = 60
    /// How much later than a folder's modification time a listing must be to stand for every later state with the same
    /// time: well above the timestamp granularity of local file systems (a clock tick, at most 10 ms).
    static let listingTick: Double = 1

    /// The top-level names a scan looks at, and whether they are a whole listing (`periodic`: a listing unless the
    /// last one still holds; `forced`: a listing). Names that were not UTF-8 are renamed here, and their new names
    /// come with the listing.
    func inboxNames(now: Date, periodic: Bool, forced: Bool) -> (names: [String], listed: Bool) {
        var list = forced || (periodic && listingNeeded)
        if periodic, !list {
            if let last = lastListing, let modified = inbox.modified, modified == last.modified,
               last.listedAt.timeIntervalSince(modified) >= Intake.listingTick, now.timeIntervalSince(last.listedAt) < Intake.listingBackstop {
                list = false  // nothing was added, removed or renamed since a listing made after the last change
            } else {
                list = true
            }
        }
        guard list else { return (pendingNames(), false) }
        let modified = inbox.modified
        let (listed, foreign) = inbox.listing()
        listingNeeded = false
        lastListing = modified.map { ($0, now) }
        let renamed = foreign.isEmpty ? [] : renameForeignNames(in: inbox, foreign, relative: nil, folders: false)
        return (listed + renamed, true)
    }

    /// The top-level names a scan between two listings looks at: those events touched (and the sidecar of a touched
    /// image), and the drops seen before that are not taken yet (settling, waiting for an image, stuck, retried).
    func pendingNames() -> [String] {
        var names = touched
        for name in touched where FolderLayout.isImageName(name) { names.insert(FolderLayout.sidecarName(forImage: name)) }
        for name in firstSeen.keys where !Intake.isNested(name) { names.insert(name) }
        for name in retryAfter.keys where !Intake.isNested(name) { names.insert(name) }
        for name in stuck.keys where !Intake.isNested(name) { names.insert(name) }
        return Array(names)
    }

    /// True for a key below the top level (`ladder/a.png`); a byte test, since it is asked of every remembered name.
    static func isNested(_ key: String) -> Bool { key.utf8.contains(UInt8(ascii: "/")) }

    /// Drops everything intake remembers of a name that is gone from the inbox.
    func forgetGone(_ name: String) {
        firstSeen[name] = nil
        stuck[name] = nil
        retryAfter[name] = nil
        observed[name] = nil
        confirmed.remove(name)
        waitingToDecode.remove(name)
        loggedLoose.remove(name)
        selfRenamed.remove(name)
    }

    /// After a listing (`present`: its names), forgets every name that is gone (temporary names that were closed and
    /// renamed, above all), so that nothing grows.
    func forgetAllGone(present: Set<String>) {
        func gone(_ key: String) -> Bool {
            Intake.isNested(key) ? entry(relative: key) == nil : !present.contains(key)
        }
        firstSeen = firstSeen.filter { !gone($0.key) }
        stuck = stuck.filter { !gone($0.key) }
        retryAfter = retryAfter.filter { !gone($0.key) }
        observed = observed.filter { !gone($0.key) }
        confirmed = confirmed.filter { !gone($0) }
        waitingToDecode = waitingToDecode.filter { !gone($0) }
        loggedLoose = loggedLoose.filter { !gone($0) }
        selfRenamed = selfRenamed.filter { !gone($0) }
    }
}
