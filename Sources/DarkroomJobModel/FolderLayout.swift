import Foundation
import DarkroomSupport

/// Where everything lives, written once: the inbox's own folders, the names Darkroom never takes as inputs, and the
/// layout of a job's folder in the gallery.
///
/// A job folder holds Darkroom's outputs at its top level (`result*.png`, `comparison.png`, `progress.gif`,
/// `input.png`, `mask.png`, `index.html`) and the user's files, byte for byte and under their own names, in
/// `inputs/`: no output can ever collide with an input.
public enum FolderLayout {
    /// `inbox/rejected/`: rejected drops, each beside `NAME.error.json`.
    public static let rejected = "rejected"
    /// `inbox/duplicates/`: drops whose content is already a job, each beside `NAME.duplicate.json`.
    public static let duplicates = "duplicates"
    /// Names in the inbox that belong to Darkroom.
    public static let reservedInboxNames: Set<String> = [rejected, duplicates]
    /// The sub-folder of a job folder that holds the user's files.
    public static let inputs = "inputs"
    /// Written in a job folder while its inputs are being moved; a crash leaves it, and the next start rolls back.
    public static let intakeManifest = ".intake.json"
    /// Written in `rejected/` or `duplicates/` while a drop is being moved there (`.darkroom-set-aside-<random>.json`);
    /// a kill leaves it, and the next start finishes the move.
    public static func setAsideManifestName() -> String { setAsideManifestPrefix + UUID().uuidString.prefix(12).lowercased() + ".json" }
    public static let setAsideManifestPrefix = ".darkroom-set-aside-"
    public static func isSetAsideManifest(_ name: String) -> Bool { name.hasPrefix(setAsideManifestPrefix) && name.hasSuffix(".json") }
    /// Written in the gallery: the id of the database whose jobs it shows.
    public static let galleryBinding = ".darkroom-database-id"
    /// Suffix of a rejection's note, and of a duplicate's.
    public static let errorNoteSuffix = ".error.json"
    public static let duplicateNoteSuffix = ".duplicate.json"
    /// The longest file name (bytes) Darkroom writes a note under; longer names are shortened.
    public static let maxNoteStemBytes = 200

    /// `<gallery>/jobs`.
    public static func jobsFolder(gallery: String) -> String { (gallery as NSString).appendingPathComponent("jobs") }

    /// `<gallery>/jobs/<id>`.
    public static func jobFolder(gallery: String, id: Int64) -> String {
        (jobsFolder(gallery: gallery) as NSString).appendingPathComponent(String(id))
    }

    /// The images `NAME.json` uses when it names none, in the order they are looked for.
    public static func impliedImages(sidecarName: String) -> [String] {
        let stem = (sidecarName as NSString).deletingPathExtension
        return ["png", "jpg", "jpeg", "PNG", "JPG", "JPEG"].map { stem + "." + $0 }
    }

    /// A job's page relative to the gallery folder: `jobs/<id>/index.html`.
    public static func jobPage(id: Int64) -> String { "jobs/\(id)/\(JobFiles.page)" }

    /// Names the daemon never treats as drops or inputs by default: dotfiles, partial copies and what sync clients
    /// leave behind (`IgnoreRules.defaultFilePatterns`); config.json's `"ignore"` adds to them.
    public static func isIgnored(_ name: String) -> Bool { IgnoreRules.defaults.ignoresFile(name) }

    /// A photo intake takes: `.png`, `.jpg`, `.jpeg`, any case.
    public static func isImageName(_ name: String) -> Bool {
        hasSuffixIgnoringCase(name, ".png") || hasSuffixIgnoringCase(name, ".jpg") || hasSuffixIgnoringCase(name, ".jpeg")
    }

    /// `name` is longer than `suffix` (lowercase ASCII) and ends with it in any case; no allocation, since intake asks
    /// this of every name in a listing.
    static func hasSuffixIgnoringCase(_ name: String, _ suffix: StaticString) -> Bool {
        let tail = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        func test(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard bytes.count > tail.count else { return false }
            let start = bytes.count - tail.count
            for k in 0..<tail.count {
                let a = bytes[start + k], b = tail[k]
                if a != b && !(a >= 0x41 && a <= 0x5A && a + 0x20 == b) { return false }
            }
            return true
        }
        if let answer = name.utf8.withContiguousStorageIfAvailable(test) { return answer }
        return Array(name.utf8).withUnsafeBufferPointer(test)
    }

    /// The mask of `NAME.png` (or `NAME.jpg`) in a preset folder whose mode takes one: `NAME.mask.png`.
    public static func maskName(forImage name: String) -> String { (name as NSString).deletingPathExtension + maskSuffix }
    public static let maskSuffix = ".mask.png"
    /// True for `NAME.mask.png` (any case): a mask, never a job of its own.
    public static func isMaskName(_ name: String) -> Bool { hasSuffixIgnoringCase(name, ".mask.png") }

    /// The sidecar `NAME.json` that adds to a preset's fields for `NAME.png` beside it.
    public static func sidecarName(forImage name: String) -> String { (name as NSString).deletingPathExtension + ".json" }

    /// The name a file whose name is not UTF-8 is renamed to (`caf\xE9.png` → `caf%E9.png`): the UTF-8 runs kept, each
    /// other byte as `%XX`; cut to the file system's 255 bytes with a hash of the whole when escaping makes it longer.
    /// `suffix` (before the extension) tells apart two names that escape alike.
    public static func utf8Name(raw: [UInt8], suffix: String = "") -> String {
        var out = "", i = 0
        while i < raw.count {
            let run = (1...4).lazy.compactMap { n -> (String, Int)? in
                i + n <= raw.count ? String(validating: raw[i..<(i + n)], as: UTF8.self).map { ($0, n) } : nil
            }.first
            if let (text, n) = run, text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0 != "%" && $0 != "/" }) {
                out += text
                i += n
            } else {
                out += String(format: "%%%02X", raw[i])
                i += 1
            }
        }
        let ext = (out as NSString).pathExtension, stem = (out as NSString).deletingPathExtension + suffix
        let tail = ext.isEmpty ? "" : "." + ext
        if stem.utf8.count + tail.utf8.count <= 255 { return stem + tail }
        var hash = ContentHash()
        hash.add(out + suffix)   // the suffix may be cut off below: the hash still tells the names apart
        var prefix = ""
        for c in stem {
            if prefix.utf8.count + String(c).utf8.count > 255 - tail.utf8.count - 17 { break }
            prefix.append(c)
        }
        return prefix + "-" + hash.hex + tail
    }

    /// How deep below a preset folder intake looks for drops (a folder per client, per day, per album, …).
    public static let presetFolderDepth = 8

    /// Darkroom's own temporaries (`.NAME….tmp`), which a killed process may leave and a start removes. Only in
    /// folders Darkroom owns (the gallery, job folders, `rejected/`, `duplicates/`), never in the inbox itself.
    public static func isDarkroomTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.hasSuffix(".tmp") }

    /// The stem a note is written under: the name itself, or for long names a prefix cut at a character boundary
    /// and a hash of the whole name, so notes of 255-byte names still fit the file system's limit.
    public static func noteStem(_ stem: String) -> String {
        if stem.utf8.count <= maxNoteStemBytes { return stem }
        var prefix = ""
        for c in stem {
            if prefix.utf8.count + String(c).utf8.count > maxNoteStemBytes - 17 { break }
            prefix.append(c)
        }
        var hash = ContentHash()
        hash.add(stem)
        return prefix + "-" + hash.hex
    }
}

/// The files Darkroom writes in a job folder (beside `inputs/`), by name, in one place.
public enum JobFiles {
    public static let comparison = "comparison.png"
    public static let progressGIF = "progress.gif"
    /// The latest x̂₀ of a running job (kept when the job is cancelled, removed when it is done).
    public static let preview = "preview.png"
    /// The input image and mask as the model saw them (cropped and resized).
    public static let inputCopy = "input.png"
    public static let maskCopy = "mask.png"
    /// The job's gallery page.
    public static let page = "index.html"

    /// True for the names of files Darkroom writes at a job folder's top level (what the gallery host accepts from a
    /// worker): `result.png`, `result-<k>.png`, `stage1.png`, `stage1-<k>.png`, the comparison, the GIF, the preview
    /// and the input and mask copies.
    public static func isOutputName(_ name: String) -> Bool {
        if [comparison, progressGIF, preview, inputCopy, maskCopy, "result.png", "stage1.png"].contains(name) { return true }
        for stem in ["result-", "stage1-"] where name.hasPrefix(stem) && name.hasSuffix(".png") {
            let k = name.dropFirst(stem.count).dropLast(4)
            return !k.isEmpty && k.allSatisfy(\.isASCII) && Int(k).map { $0 >= 1 } == true
        }
        return false
    }

    /// `result.png` for a single result, else `result-<k>.png` (k from 1). Upscaled jobs: the 256² images.
    public static func result(_ k: Int, of count: Int) -> String { count == 1 ? "result.png" : "result-\(k).png" }

    /// An upscaled job's stage I images (before upscaling), numbered as its results: `stage1.png`, `stage1-<k>.png`.
    public static func stageOne(_ k: Int, of count: Int) -> String { count == 1 ? "stage1.png" : "stage1-\(k).png" }
}
