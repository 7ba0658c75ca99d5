import ArgumentParser
import DarkroomStore
import Foundation
import DarkroomJobModel
import DarkroomSupport

/// `darkroom status --notices`: deliveries of notices that are pending (with their next attempt) or failed.
extension StatusCommand {
    /// The deliveries not yet delivered, newest notice first, one line each, with a summary.
    static func noticesTable(_ store: any JobStore, targets: [NotifyTarget], limit: Int, now: Date = Date()) throws -> String {
        guard !targets.isEmpty else { return "no notice targets: config.json has no \"notify\" list (README, \"Notices\")" }
        let labels = Dictionary(targets.map { ($0.key, $0.label) }, uniquingKeysWith: { a, _ in a })
        let rows = try store.deliveries(includeDelivered: false, limit: limit)
        var lines = rows.map { notice, d in
            let target = labels[d.target] ?? "a removed target (\(d.target))"
            let when: String
            if d.status == .pending, let next = d.nextAttemptAt {
                when = next <= now ? "due now" : "next attempt in \(durationText(next.timeIntervalSince(now)))"
            } else {
                when = "given up"
            }
            let attempts = "\(d.attempts) attempt\(d.attempts == 1 ? "" : "s")"
            let error = d.lastError.map { ": " + shown($0, 160) } ?? ""
            return "job \(notice.jobID) \(notice.event) → \(target): \(d.status.rawValue), \(attempts), \(when)\(error)"
        }
        let pending = rows.filter { $0.delivery.status == .pending }.count
        lines.append("notices: \(pending) pending, \(rows.count - pending) failed (targets: \(targets.map(\.label).joined(separator: ", ")))")
        return lines.joined(separator: "\n")
    }

    /// The same as JSON: a list of objects with `event_id`, `event`, `id` (the job), `target`, `status`, `attempts`,
    /// `next_attempt_at`, `last_error`.
    static func noticesJSON(_ store: any JobStore, targets: [NotifyTarget], limit: Int) throws -> String {
        let labels = Dictionary(targets.map { ($0.key, $0.label) }, uniquingKeysWith: { a, _ in a })
        let f = ISO8601DateFormatter()
        let list: [[String: Any]] = try store.deliveries(includeDelivered: false, limit: limit).map { notice, d in
            ["event_id": notice.eventID, "event": notice.event, "id": notice.jobID, "target": labels[d.target] ?? d.target,
             "status": d.status.rawValue, "attempts": d.attempts, "next_attempt_at": d.nextAttemptAt.map(f.string) ?? NSNull(),
             "last_error": d.lastError ?? NSNull()]
        }
        let data = try JSONSerialization.data(withJSONObject: list, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
