import ArgumentParser
import DarkroomStore
import Foundation
import DarkroomJobModel
import DarkroomSupport

/// `darkroom status`: the jobs in the database, with progress for running ones.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "List jobs, newest first, with a progress bar and ETA for running jobs.",
        discussion: "--follow redraws until no job is queued or running (on a terminal) or prints a line every few seconds.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Only jobs in this state (queued, running, done, failed, rejected, cancelled).")
    var state: String?
    @Option(help: "At most this many jobs.")
    var limit = 50
    @Flag(help: "Print JSON (running jobs carry \"progress\").")
    var json = false
    @Flag(help: "Keep watching until the queue is empty.")
    var follow = false
    @Option(help: "Seconds between lines of --follow when the output is not a terminal.")
    var interval = 5.0
    @Flag(help: "List the notices not yet delivered (pending, with their next attempt, and failed) instead of jobs.")
    var notices = false

    func run() throws {
        let config = try configOption.load()
        let store = try openJobStore(config.database)
        var filter: JobState?
        if let state {
            guard let s = JobState(rawValue: state) else {
                throw ValidationError("unknown state '\(state)' (known: \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            filter = s
        }
        if notices {
            print(json ? try StatusCommand.noticesJSON(store, targets: config.notify, limit: limit)
                       : try StatusCommand.noticesTable(store, targets: config.notify, limit: limit))
        } else if json {
            print(try StatusCommand.json(try store.jobs(state: filter, limit: limit)))
        } else if follow {
            try followQueue(store, filter: filter)
        } else {
            print(try StatusCommand.table(store, filter: filter, limit: limit))
        }
    }

    /// The jobs as JSON: the record's keys, with a running job's `progress` as an object.
    static func json(_ jobs: [Job]) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        var list = try JSONSerialization.jsonObject(with: try encoder.encode(jobs)) as? [[String: Any]] ?? []
        for k in list.indices {
            if let text = list[k]["progress"] as? String, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) {
                list[k]["progress"] = object
            }
        }
        let data = try JSONSerialization.data(withJSONObject: list, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// One line per job and a summary line.
    static func table(_ store: any JobStore, filter: JobState?, limit: Int) throws -> String {
        var lines: [String] = []
        let jobs = try store.jobs(state: filter, limit: limit)
        // A preset column only when a listed job came through a preset folder.
        let presetWidth = jobs.contains { $0.preset != nil } ? 15 : 0
        for j in jobs {
            let duration = j.duration.map { String(format: "%.1fs", $0) } ?? "-"
            let id = String(j.id ?? 0)
            let detail = (j.state == .running ? j.progress : nil).map(StatusCommand.bar) ?? j.error.map { shown($0, 60) } ?? shown(j.prompt, 200)
            let preset = presetWidth > 0 ? pad(shown(j.preset ?? "-", 40), presetWidth) : ""
            lines.append(String(repeating: " ", count: max(0, 5 - id.count)) + id + "  " + pad(j.state.rawValue, 10) + pad(j.mode, 9)
                         + pad(shown(j.name, 60), 24) + " " + preset + pad(duration, 7) + " " + detail)
        }
        lines.append(try summary(store))
        return lines.joined(separator: "\n")
    }

    static func summary(_ store: any JobStore) throws -> String {
        let counts = try store.counts()
        let text = JobState.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ")
        return try store.isPaused() ? text + " · paused (darkroom resume)" : text
    }

    /// `[██████········] 45% 9/20 stage I eta 12s`.
    static func bar(_ p: JobProgress) -> String {
        let width = 16
        let filled = Int((p.fraction * Double(width)).rounded(.down))
        let eta = p.etaSeconds.map { " eta \(durationText($0))" } ?? ""
        return "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "] "
            + "\(Int((p.fraction * 100).rounded(.down)))% \(p.step)/\(p.steps) \(p.stage)" + eta
    }

    /// Redraws (terminal) or prints a line every `interval` seconds until nothing is queued or running.
    func followQueue(_ store: any JobStore, filter: JobState?) throws {
        let terminal = isatty(STDOUT_FILENO) != 0
        while true {
            let counts = try store.counts()
            let busy = (counts[.queued] ?? 0) + (counts[.running] ?? 0) > 0
            if terminal {
                print("\u{1B}[H\u{1B}[2J" + (try StatusCommand.table(store, filter: filter, limit: limit)))
            } else {
                let running = try store.jobs(state: .running).map { j in
                    "#\(j.id!) \(shown(j.name, 60)) " + (j.progress.map { p in "\(Int(p.fraction * 100))% \(p.step)/\(p.steps)" + (p.etaSeconds.map { " eta \(durationText($0))" } ?? "") } ?? "starting")
                }
                let stamp = ISO8601DateFormatter().string(from: Date())
                print("\(stamp) " + (running.isEmpty ? "" : "running: " + running.joined(separator: "; ") + " · ") + (try StatusCommand.summary(store)))
            }
            fflush(nil)  // every output stream (stdout is a C global Swift 6 will not touch)
            if !busy { return }
            Thread.sleep(forTimeInterval: terminal ? 1 : max(0.2, interval))
        }
    }
}

/// `s` as the log shows it: control characters escaped (a file name's escape sequence never reaches the terminal).
func shown(_ s: String, _ limit: Int) -> String { JobError.quote(s, limit: limit) }

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count) }
