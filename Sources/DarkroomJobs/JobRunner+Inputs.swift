import DarkroomJobModel
import DarkroomSupport
import Foundation

extension JobRunner {
    /// The inputs' paths relative to the result folder, for the `darkroom` chunk: a job folder's own
    /// (`inputs/cat.png`) as they are; inputs from anywhere else (`darkroom run` of a sidecar, a re-run, a file beside
    /// the results) are copied into `inputs/` first, so that every result folder holds what it needs to be run again
    /// and a re-run records the same paths as the job it repeats.
    static func keepInputs(image: String?, mask: String?, in outFolder: String) throws -> (image: String?, mask: String?) {
        let root = URL(fileURLWithPath: outFolder).standardized.path + "/" + FolderLayout.inputs + "/"
        var taken: Set<String> = []
        func keep(_ path: String?, field: String) throws -> String? {
            guard let path else { return nil }
            let full = URL(fileURLWithPath: path).standardized.path
            if full.hasPrefix(root) {
                let name = FolderLayout.inputs + "/" + full.dropFirst(root.count)
                taken.insert(name)
                return name
            }
            var name = FolderLayout.inputs + "/" + (full as NSString).lastPathComponent
            if taken.contains(name) { name = FolderLayout.inputs + "/\(field)-" + (full as NSString).lastPathComponent }
            taken.insert(name)
            let target = (outFolder as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { throw JobError(field: field, "cannot read '\(path)'") }
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicFile.write(data, to: target)
            return name
        }
        return (try keep(image, field: "image"), try keep(mask, field: "mask"))
    }
}
