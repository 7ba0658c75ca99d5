import DarkroomGallery
import DarkroomImaging
import DarkroomStore
import DarkroomTensor
import DarkroomDiffusion
import DarkroomJobs
import Foundation
import DarkroomJobModel

/// Benchmarks of what people look at: the gallery and the progress GIFs.
public enum OutputBench {
    /// Seconds to rebuild the gallery (every page, and the index alone) for `count` synthetic jobs.
    public static func gallery(jobs count: Int) throws -> (rebuild: Double, again: Double, index: Double, search: SearchFigure?) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteJobStore(path: dir.appendingPathComponent("db.sqlite").path)
        let modes = ["generate", "sdedit", "inpaint", "anagram", "hybrid", "noise", "denoise"]
        try store.writer.write { db in
            for k in 0..<count {
                let folder = dir.appendingPathComponent("gallery/jobs/\(k + 1)").path
                // Job folders exist in a real gallery (they hold the job's files).
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                var j = Job(name: "job\(k)", mode: modes[k % modes.count], model: "fashion", prompt: "a photo of a sneaker #\(k)",
                                  seed: Int64(k), parameters: .edit({ var r = EditRequest(mode: .generate); r.seed = UInt64(k); return r }()), inputHash: "h\(k)", folder: folder,
                                  state: k % 50 == 0 ? .failed : .done)
                j.startedAt = j.createdAt
                j.finishedAt = j.createdAt.addingTimeInterval(2.5)
                j.error = k % 50 == 0 ? "synthetic failure" : nil
                try j.insert(db)
                for (kind, name) in [(ResultKind.result, "result.png"), (.gif, "progress.gif"), (.comparison, "comparison.png")] {
                    var r = JobResult(jobID: j.id!, kind: kind, path: folder + "/" + name, size: 1000)
                    try r.insert(db)
                }
            }
        }
        let gallery = try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store)
        var start = Date()
        try gallery.rebuild()
        let rebuild = Date().timeIntervalSince(start)
        start = Date()
        try gallery.rebuild()
        let again = Date().timeIntervalSince(start)
        start = Date()
        try gallery.writeIndex()
        let index = Date().timeIntervalSince(start)
        return (rebuild, again, index, try search(dir.appendingPathComponent("gallery")))
    }

    /// The search box in headless Chromium (nil without one): the index's size, and the time of a search for a word
    /// of one job's prompt as the page reports it.
    public struct SearchFigure {
        public var indexBytes: Int
        public var milliseconds: Int
        public var matches: String
    }

    static func search(_ gallery: URL) throws -> SearchFigure? {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", gallery.appendingPathComponent("index.html").absoluteString + "#q=sneaker%20%23777"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let dom = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // <p id="found-count" class="meta">N of M jobs match · T ms</p>
        guard let line = dom.components(separatedBy: "id=\"found-count\"").dropFirst().first?.components(separatedBy: "</p>").first,
              let text = line.components(separatedBy: ">").last, let ms = text.components(separatedBy: " · ").last?.components(separatedBy: " ").first.flatMap({ Int($0) })
        else { return nil }
        let size = (try? FileManager.default.attributesOfItem(atPath: gallery.appendingPathComponent("search.js").path)[.size] as? Int) ?? 0
        return SearchFigure(indexBytes: size, milliseconds: ms, matches: text.components(separatedBy: " · ").first ?? "")
    }

    /// Seconds to encode `frames` colour frames of `size`×`size` into a GIF (palette fitting included).
    public static func gif(frames: Int = 60, size: Int = 256) throws -> Double {
        var rng = RandomSource(seed: 1)
        let images = (0..<frames).map { k -> Tensor in
            let t = Tensor(uninitialized: [1, 3, size, size])
            for c in 0..<3 {
                for y in 0..<size {
                    for x in 0..<size {
                        // Smooth gradients that drift per frame, plus a little noise: like a denoising sequence.
                        let v = 0.5 + 0.4 * sin(Float(x + 3 * k) / 23 + Float(c)) * cos(Float(y - 2 * k) / 31) + 0.05 * rng.gaussian()
                        t.pointer[(c * size + y) * size + x] = min(max(v, 0), 1)
                    }
                }
            }
            return t
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-bench-\(UUID().uuidString).gif").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Date()
        try GIFWriter.write(images, to: path)
        return Date().timeIntervalSince(start)
    }
}
