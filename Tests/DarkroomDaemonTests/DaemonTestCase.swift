import Foundation
import XCTest
import DarkroomImaging
import DarkroomModels
import DarkroomStore
import DarkroomTensor
import DarkroomTestSupport
import DarkroomTraining

/// What the daemon's process tests share: a workspace with a tiny random model, the real `darkroom` binary, drops.
class DaemonTestCase: XCTestCase {
    /// The `darkroom` executable built beside the test bundle.
    var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("darkroom").path
    }

    /// A workspace: config.json (stride from `stride`), a random tiny model, an empty inbox. `extra` adds config keys.
    func workspace(stride: Int = 100, imageWait: Double = 2, extra: String = "") throws -> URL {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "build the darkroom executable first (\(binary))")
        let dir = try temporaryFolder(self)
        let model = TrainableUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog"]), seed: 3)
        try TrainingCheckpoint.saveModel(model, to: dir.appendingPathComponent("models/tiny").path)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        try #"{"models": {"tiny": "models/tiny"}, "defaults": {"stride": \#(stride)}, "threads": 1, "image_wait_seconds": \#(imageWait)\#(extra)}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Starts `darkroom watch` (or `--once`); stderr goes to `log` when given.
    func start(_ dir: URL, once: Bool = false, log: URL? = nil, arguments: [String]? = nil, environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments ?? (["watch", "--config", dir.appendingPathComponent("config.json").path] + (once ? ["--once"] : []))
        if let log {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: log)
        } else {
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        }
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        addTeardownBlock { if p.isRunning { p.terminate(); p.waitForExit() } }
        return p
    }

    /// Runs `darkroom watch --once` to the end (at most `seconds`) and returns its exit status.
    @discardableResult
    func runOnce(_ dir: URL, seconds: Double = 120, log: URL? = nil) throws -> Int32 {
        let p = try start(dir, once: true, log: log)
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitForExit()
            XCTFail("darkroom watch --once took longer than \(seconds) s")
        }
        return p.terminationStatus
    }

    /// Runs a darkroom command to the end; returns (status, stdout + stderr).
    func command(_ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitForExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func store(_ dir: URL) throws -> SQLiteJobStore { try SQLiteJobStore(path: dir.appendingPathComponent("darkroom.sqlite").path) }

    /// Polls `condition` every 50 ms for up to `seconds`.
    func waitFor(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("timed out waiting for \(what)")
        throw CancellationError()
    }

    /// Writes `data` to `path` through a temporary name and a rename (an atomic drop).
    func drop(_ data: Data, _ path: URL) throws {
        let tmp = path.deletingLastPathComponent().appendingPathComponent(".drop-\(UUID().uuidString).part")
        try data.write(to: tmp)
        guard rename(tmp.path, path.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    func drop(_ json: String, _ path: URL) throws { try drop(Data(json.utf8), path) }

    /// A 32×32 gray PNG; `seed` makes different bytes.
    func pngData(seed: UInt64 = 4) throws -> Data {
        var rng = RandomSource(seed: seed)
        return try PNGWriter.encode(rng.uniform([1, 1, 32, 32]))
    }

    /// The note `rejected/NAME.error.json` (or another note) as a dictionary.
    func note(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], url.path)
    }

    func names(_ url: URL) -> Set<String> { Set((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []) }
}
