import DarkroomModels
import DarkroomTraining
import Foundation

/// What an idle `darkroom watch` costs: a real daemon (worker included) over an inbox holding many unrelated files,
/// its CPU time read from the kernel (`/proc/PID/task/*/schedstat`, nanoseconds) over a quiet stretch, then over a
/// stretch in which an unrelated file arrives every second.
public enum IdleBench {
    public struct Figure {
        public var files: Int
        public var seconds: Double
        public var cpuSeconds: Double
        /// The same while one more unrelated file arrives every second (so the inbox is listed whole every 5 s).
        public var churnSeconds: Double
        public var churnCPUSeconds: Double
        /// CPU time over wall time, in percent of one core.
        public var percentOfCore: Double { 100 * cpuSeconds / seconds }
        public var churnPercentOfCore: Double { 100 * churnCPUSeconds / churnSeconds }
    }

    /// Fills `folder/inbox` with `files` files no job uses (half of them photos without a sidecar, the rest other
    /// files), starts `binary watch` on it with two preset folders, waits until it has seen them all (the loose photos
    /// logged), then measures `seconds` of idling.
    public static func run(files: Int, seconds: Double, binary: String, folder: URL) throws -> Figure {
        let inbox = folder.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let model = TrainableUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog"]), seed: 3)
        try TrainingCheckpoint.saveModel(model, to: folder.appendingPathComponent("models/tiny").path)
        let config = #"""
            {"models": {"tiny": "models/tiny"}, "threads": 1,
             "presets": {"ladder": {"mode": "sdedit", "prompt": "cat", "noise_levels": [0, 1]}, "pets": {"mode": "generate"}}}
            """#
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let photo = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        for k in 0..<files {
            let name = k % 2 == 0 ? String(format: "IMG_%05d.png", k) : String(format: "notes-%05d.txt", k)
            guard FileManager.default.createFile(atPath: inbox.appendingPathComponent(name).path, contents: k % 2 == 0 ? photo : Data("x\n".utf8)) else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
        let log = folder.appendingPathComponent("watch.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["watch", "--config", folder.appendingPathComponent("config.json").path]
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        // Started, the photos looked at and logged: what follows is idling.
        let deadline = Date().addingTimeInterval(120)
        let mark = files > 0 ? "no sidecar" : "watching"
        while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8))?.contains(mark) ?? false) {
            guard p.isRunning else { throw BenchError("darkroom watch stopped: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 6)
        let before = try cpuNanoseconds(p.processIdentifier), t0 = Date()
        Thread.sleep(forTimeInterval: seconds)
        let after = try cpuNanoseconds(p.processIdentifier), wall = Date().timeIntervalSince(t0)
        // Then files arrive: a listing each time the folder changed, up to one per 5 s.
        let t1 = Date()
        var k = 0
        while Date().timeIntervalSince(t1) < seconds {
            FileManager.default.createFile(atPath: inbox.appendingPathComponent("arrived-\(k).txt").path, contents: Data("x\n".utf8))
            k += 1
            Thread.sleep(forTimeInterval: 1)
        }
        let churned = try cpuNanoseconds(p.processIdentifier), churnWall = Date().timeIntervalSince(t1)
        return Figure(files: files, seconds: wall, cpuSeconds: Double(after - before) / 1e9,
                      churnSeconds: churnWall, churnCPUSeconds: Double(churned - after) / 1e9)
    }

    /// The CPU time of every thread of process `pid` so far (the first field of /proc/PID/task/*/schedstat).
    static func cpuNanoseconds(_ pid: Int32) throws -> UInt64 {
        let tasks = "/proc/\(pid)/task"
        var total: UInt64 = 0
        for task in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            guard let text = try? String(contentsOfFile: "\(tasks)/\(task)/schedstat", encoding: .utf8),
                  let first = text.split(separator: " ").first, let ns = UInt64(first) else { continue }
            total += ns
        }
        return total
    }
}

/// A benchmark that could not run, saying why.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
