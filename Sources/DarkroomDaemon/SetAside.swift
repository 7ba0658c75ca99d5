import Foundation
import DarkroomJobModel
import DarkroomStore
import DarkroomSupport
#if canImport(Glibc)
import Glibc
#endif

/// Carries out a decided move of a drop into `rejected/` or `duplicates/`, as often as it takes: every step finds
/// what an earlier, killed attempt already did and does only the rest.
enum SetAside {
    /// Moves each file of `manifest` still in the inbox (the same device and inode) into `folder`, writes the note,
    /// records a rejection unless its record is there, then removes the manifest. Returns the rejection's row when
    /// this call recorded it.
    static func complete(_ manifest: SetAsideManifest, named manifestName: String, in folder: FolderHandle, inbox: FolderHandle,
                         store: any JobStore) throws -> Job? {
        var manifest = manifest
        var moved: [SetAsideNote.Moved] = []
        for (k, file) in manifest.files.enumerated() {
            if let (parent, name) = inbox.descend(file.from), let e = parent.entry(name), e.device == file.device, e.inode == file.inode {
                moved.append(.init(file: file.from, movedTo: try FileMover.move(name, from: parent, to: folder)))
            } else if let there = folder.names().first(where: { n in folder.entry(n).map { $0.device == file.device && $0.inode == file.inode } == true }) {
                moved.append(.init(file: file.from, movedTo: there))  // moved before a kill
            }  // else: gone from the inbox (removed by its owner): nothing to move
            if k == 0 { TestHooks.killIfAt("set-aside-sidecar-moved") }
        }
        TestHooks.killIfAt("set-aside-moved")
        var note = manifest.note
        note.movedTo = moved.first { $0.file == manifest.sidecar }?.movedTo
        note.files = moved
        if manifest.noteName == nil {
            let moved = note.movedTo ?? manifest.sidecar
            let stem = moved.hasSuffix(".json") ? String(moved.dropLast(5)) : moved
            let suffix = manifest.kind == .rejected ? FolderLayout.errorNoteSuffix : FolderLayout.duplicateNoteSuffix
            manifest.noteName = FileMover.freeName(FolderLayout.noteStem(stem) + suffix, in: folder)
            try manifest.write(manifestName, in: folder)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(note), to: folder.child(manifest.noteName!))
        TestHooks.killIfAt("set-aside-noted")
        var row: Job?
        if let record = manifest.record, try store.job(inputHash: record.inputHash) == nil {
            row = try store.enqueue(record).job
        }
        unlinkat(folder.fd, manifestName, 0)
        return row
    }

    /// Finishes every move a kill interrupted, in `rejected/` and `duplicates/`; returns how many.
    static func finishInterrupted(inbox: FolderHandle, store: any JobStore) throws -> Int {
        var finished = 0
        for target in [FolderLayout.rejected, FolderLayout.duplicates] where inbox.kind(of: target) == .directory {
            let folder = try inbox.subfolder(target, create: false)
            for name in folder.names() where FolderLayout.isSetAsideManifest(name) && folder.kind(of: name) == .regular {
                guard let manifest = SetAsideManifest.read(name, in: folder) else {
                    DaemonLog.warning("\(folder.child(name)): unreadable, left in place")
                    continue
                }
                _ = try complete(manifest, named: name, in: folder, inbox: inbox, store: store)
                DaemonLog.warning("interrupted move of '\(JobError.quote(manifest.sidecar))' to inbox/\(target) finished")
                finished += 1
            }
        }
        return finished
    }
}
