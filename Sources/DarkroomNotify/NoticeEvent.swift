import Foundation
import DarkroomJobModel
import DarkroomStore

/// The event a notice delivers, one schema for every target (README, "Notices"): a JSON object with the keys below,
/// also given to commands as `DARKROOM_*` environment variables.
public struct NoticeEvent: Codable, Equatable, Sendable {
    /// `job.done`, `job.failed`, `job.rejected` or `job.cancelled`.
    public var event: String
    /// The same on every retry of every target: the receiver's key for "seen it".
    public var eventID: String
    /// When the job ended (ISO 8601, UTC).
    public var time: String
    public var id: Int64
    public var name: String
    public var state: String
    public var mode: String
    public var model: String
    /// The prompt; for two-prompt modes (anagram, hybrid) both, joined by " | ", as in `status`.
    public var prompt: String
    /// The two prompts of anagram and hybrid jobs (empty otherwise).
    public var prompts: [String]
    public var preset: String?
    public var seed: Int64
    /// Seconds from start to end (nil when the job never started: rejected, or cancelled while queued).
    public var seconds: Double?
    public var error: String?
    /// The job's output files, relative to the gallery folder, results first.
    public var outputs: [String]
    /// The job's page, relative to the gallery folder.
    public var page: String
    /// The page's address, when config.json's `gallery_url` says where the gallery is served.
    public var url: String?

    enum CodingKeys: String, CodingKey {
        case event, eventID = "event_id", time, id, name, state, mode, model, prompt, prompts, preset, seed, seconds, error, outputs, page, url
    }

    /// Every key is written, absent values as null: receivers see the documented schema whatever the job.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(event, forKey: .event)
        try c.encode(eventID, forKey: .eventID)
        try c.encode(time, forKey: .time)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(state, forKey: .state)
        try c.encode(mode, forKey: .mode)
        try c.encode(model, forKey: .model)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(prompts, forKey: .prompts)
        try c.encode(preset, forKey: .preset)
        try c.encode(seed, forKey: .seed)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(error, forKey: .error)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(page, forKey: .page)
        try c.encode(url, forKey: .url)
    }

    /// The event of `notice` for `job` (as it is now: a job retried since keeps the notice's state and error).
    public init(notice: Notice, job: Job, results: [JobResult], galleryURL: URL?) {
        event = notice.event
        eventID = notice.eventID
        time = NoticeEvent.iso8601(notice.createdAt)
        id = notice.jobID
        name = job.name
        state = notice.state.rawValue
        mode = job.mode
        model = job.model
        prompt = job.prompt
        prompts = job.request?.prompts ?? []
        preset = job.preset
        seed = job.seed
        if let start = job.startedAt, notice.state != .rejected {
            seconds = (max(0, notice.createdAt.timeIntervalSince(start)) * 1000).rounded() / 1000
        }
        error = notice.error
        let order: [ResultKind] = [.result, .stageOne, .comparison, .gif]
        outputs = results.filter { order.contains($0.kind) }
            .sorted { (order.firstIndex(of: $0.kind)!, $0.id ?? 0) < (order.firstIndex(of: $1.kind)!, $1.id ?? 0) }
            .map { "jobs/\(notice.jobID)/\(($0.path as NSString).lastPathComponent)" }
        page = FolderLayout.jobPage(id: notice.jobID)
        url = galleryURL.map { URL(string: page, relativeTo: $0)!.absoluteString }
    }

    /// The address of output `k` when the gallery is served (ntfy's `Attach`).
    public func outputURL(_ k: Int, galleryURL: URL?) -> String? {
        guard let galleryURL, outputs.indices.contains(k) else { return nil }
        return URL(string: outputs[k], relativeTo: galleryURL)?.absoluteString
    }

    /// The JSON body: keys sorted, no escaped slashes.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// The event as environment variables for a command: `DARKROOM_EVENT`, `DARKROOM_EVENT_ID`, `DARKROOM_ID`, … (each
    /// key upper-cased; lists as newline-separated lines; absent values as empty strings).
    public var environment: [String: String] {
        var env = [
            "EVENT": event, "EVENT_ID": eventID, "TIME": time, "ID": String(id), "NAME": name, "STATE": state, "MODE": mode,
            "MODEL": model, "PROMPT": prompt, "PROMPTS": prompts.joined(separator: "\n"), "PRESET": preset ?? "",
            "SEED": String(seed), "SECONDS": seconds.map { String($0) } ?? "", "ERROR": error ?? "",
            "OUTPUTS": outputs.joined(separator: "\n"), "PAGE": page, "URL": url ?? "",
        ]
        env = Dictionary(uniqueKeysWithValues: env.map { ("DARKROOM_" + $0.key, $0.value) })
        return env
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
