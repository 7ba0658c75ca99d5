import Foundation

/// Which names in the inbox are never drops: what file-sharing and sync clients leave behind while they copy, and
/// what operating systems scatter, by default; config.json's `"ignore"` adds patterns and never removes these.
public struct IgnoreRules: Equatable, Sendable {
    /// Files the clients leave behind: rsync's `.NAME.XXXXXX`, Syncthing's `.syncthing.NAME.tmp` and
    /// `~syncthing~NAME.tmp`, macOS's `._NAME` and `.DS_Store` (all dotfiles), partial downloads and copies, Office's
    /// lock files `~$NAME`, Windows's thumbnails and folder settings.
    public static let defaultFilePatterns = [".*", "~syncthing~*.tmp", "*.tmp", "*.part", "*.crdownload", "~$*", "Thumbs.db", "desktop.ini"]
    /// Folders nothing is taken from: Synology's thumbnails and recycle bin, Syncthing's marker and versions (and
    /// every dot-folder).
    public static let defaultFolderNames: Set<String> = ["@eaDir", "#recycle", ".stfolder", ".stversions"]

    static let defaults = IgnoreRules(patterns: [])
    private static let defaultPatterns = defaultFilePatterns.map { try! GlobPattern($0) }

    /// The patterns config.json adds.
    public var patterns: [GlobPattern]

    public init(patterns: [GlobPattern]) { self.patterns = patterns }

    /// True when a file called `name` is never taken.
    public func ignoresFile(_ name: String) -> Bool {
        IgnoreRules.defaultPatterns.contains { $0.matches(name) } || patterns.contains { $0.matches(name) }
    }

    /// True when nothing inside a folder called `name` is taken.
    public func ignoresFolder(_ name: String) -> Bool {
        name.hasPrefix(".") || IgnoreRules.defaultFolderNames.contains(name) || patterns.contains { $0.matches(name) }
    }
}
