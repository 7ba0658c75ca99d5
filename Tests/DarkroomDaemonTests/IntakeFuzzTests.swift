import Foundation
import XCTest
import DarkroomStore
import DarkroomJobModel

/// A seeded fuzz of intake: random sidecars, file names, file kinds and folder layouts dropped into a real inbox,
/// then `darkroom watch --once`. Whatever the drop: no crash, no round over its time bound, every dropped file
/// accounted for byte for byte (a job's `inputs/`, `rejected/`, `duplicates/`, or still in the inbox), nothing
/// outside the inbox changed, and every rejection has its note and its record.
///
/// `DARKROOM_FUZZ_CASES` (default 300) and `DARKROOM_FUZZ_SEED` (default 1) set the run; CI runs the default.
final class IntakeFuzzTests: DaemonTestCase {
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
        mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
    }

    func testRandomDropsNeverLoseMoveOrHang() throws {
        let environment = ProcessInfo.processInfo.environment
        let total = environment["DARKROOM_FUZZ_CASES"].flatMap(Int.init) ?? 300
        var rng = SplitMix(state: environment["DARKROOM_FUZZ_SEED"].flatMap(UInt64.init) ?? 1)
        let perRound = 50
        var round = 0, done = 0, counts: [JobState: Int] = [:]
        let started = Date()
        while done < total {
            let cases = min(perRound, total - done)
            let result = try fuzzRound(round, cases: cases, rng: &rng)
            for (k, v) in result { counts[k, default: 0] += v }
            done += cases
            round += 1
        }
        print("intake fuzz: \(total) cases in \(round) rounds, \(String(format: "%.1f", Date().timeIntervalSince(started))) s; "
              + JobState.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", "))
        XCTAssertGreaterThan(counts[.done] ?? 0, 0, "the fuzz also makes valid jobs")
        XCTAssertGreaterThan(counts[.rejected] ?? 0, 0)
    }

    /// One workspace, `cases` drops, one `watch --once`; returns the job counts.
    func fuzzRound(_ round: Int, cases: Int, rng: inout SplitMix) throws -> [JobState: Int] {
        let dir = try workspace(stride: 150, imageWait: 0)
        let inbox = dir.appendingPathComponent("inbox")
        let outside = dir.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside.appendingPathComponent("deep"), withIntermediateDirectories: true)
        try pngData(seed: 99).write(to: outside.appendingPathComponent("x.png"))
        try Data(#"{"prompt": "a cat"}"#.utf8).write(to: outside.appendingPathComponent("j.json"))
        try Data("secret".utf8).write(to: outside.appendingPathComponent("deep/secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("ld").path, withDestinationPath: outside.path)
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let sentinel = try tree(outside)
        var dropped: [Data] = []  // bytes of every regular file dropped
        var specials: [String] = []  // links, FIFOs and folders dropped (besides ld and sub)
        var sharedImages: [Data] = [try pngData(seed: 1)]
        for k in 0..<cases {
            let c = try FuzzCase(k: k, round: round, rng: &rng, shared: &sharedImages, png: { try self.pngData(seed: $0) })
            for file in c.files {
                let url = inbox.appendingPathComponent(file.path)
                if FileManager.default.fileExists(atPath: url.path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil { continue }
                switch file.kind {
                case .regular(let data):
                    try drop(data, url)
                    dropped.append(data)
                case .link(let target):
                    try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target.replacingOccurrences(of: "OUTSIDE", with: outside.path))
                    specials.append(file.path)
                case .fifo:
                    XCTAssertEqual(mkfifo(url.path, 0o644), 0)
                    specials.append(file.path)
                case .folder:
                    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                    specials.append(file.path)
                }
            }
        }
        let start = Date()
        let status = try runOnce(dir, seconds: 120)
        XCTAssertEqual(status, 0, "round \(round): darkroom exited with \(status)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 120, "round \(round) within its bound")
        XCTAssertEqual(try tree(outside), sentinel, "round \(round): nothing outside the inbox changed")

        // Every dropped regular file, byte for byte, exactly once among the places a drop can end up.
        var found: [Data] = []
        var notes: [[String: Any]] = []
        var specialsFound: [String] = []
        func collect(_ folder: URL, relative: String = "") throws {
            for name in names(folder) {
                let url = folder.appendingPathComponent(name)
                var s = stat()
                guard lstat(url.path, &s) == 0 else { continue }
                let path = relative + name
                switch s.st_mode & S_IFMT {
                case S_IFREG:
                    let data = try Data(contentsOf: url)
                    if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["moved_to"] != nil, object["time"] != nil {
                        if relative == "rejected/" { notes.append(object) }
                    } else {
                        found.append(data)
                    }
                case S_IFDIR:
                    if ["rejected", "duplicates", "sub"].contains(path) { try collect(url, relative: path + "/") } else { specialsFound.append(path) }
                default:
                    if path != "ld" { specialsFound.append(path) }
                }
            }
        }
        try collect(inbox)
        let jobs = try store(dir).jobs(limit: 10_000)
        for job in jobs where job.state != .rejected {
            try collect(URL(fileURLWithPath: job.folder).appendingPathComponent("inputs"), relative: "inputs/")
        }
        XCTAssertEqual(found.count, dropped.count, "round \(round): as many files as were dropped")
        var remaining = Dictionary(grouping: found, by: { $0 }).mapValues(\.count)
        for data in dropped {
            guard let n = remaining[data], n > 0 else { XCTFail("round \(round): a dropped file (\(data.count) bytes) is gone or changed"); continue }
            remaining[data] = n - 1
        }
        XCTAssertEqual(specialsFound.count, specials.count, "\(specialsFound.sorted()) vs \(specials.sorted()): round \(round): links, FIFOs and folders stay in the inbox or in rejected/")
        let rejected = jobs.filter { $0.state == .rejected }
        XCTAssertEqual(notes.count, rejected.count, "round \(round): one note per rejection record")
        for note in notes {
            let moved = try XCTUnwrap(note["moved_to"] as? String)
            var s = stat()
            XCTAssertEqual(lstat(inbox.appendingPathComponent("rejected/\(moved)").path, &s), 0, "the note names where the sidecar is")
            XCTAssertNotNil(note["error"] as? String)
        }
        return Dictionary(grouping: jobs, by: \.state).mapValues(\.count)
    }

    /// Names, kinds, bytes and link targets of everything below `folder`.
    func tree(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: folder.path)!
        while let relative = e.nextObject() as? String {
            let path = folder.appendingPathComponent(relative).path
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) { out[relative] = Data(("link " + target).utf8); continue }
            out[relative] = FileManager.default.contents(atPath: path) ?? Data("<folder>".utf8)
        }
        return out
    }
}
