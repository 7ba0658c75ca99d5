import Foundation
import DarkroomJobModel
import DarkroomStore
import DarkroomSupport
import Logging

/// Delivers the outbox: fans new notices out to the targets that want them, then tries every due delivery, one at a
/// time, each bounded by `timeout`. Runs on the gallery host's own thread, so a slow receiver never holds up intake,
/// workers or the gallery. A failure is tried again after 10 s, 20 s, 40 s, … (at most an hour apart) until a day
/// has passed since the first attempt; then the delivery is failed and `status --notices` shows it.
///
/// Each delivery is recorded after the receiver answered: a crash between the two sends it again with the same
/// `event_id` and `Idempotency-Key`, which is how a receiver tells (at-least-once, once as far as it can tell).
public final class NoticeSender {
    public let store: any JobStore
    public let targets: [NotifyTarget]
    public let galleryURL: URL?
    /// Seconds one delivery may take (HTTP: connecting, sending and the reply; a command: until it exits).
    public var timeout: TimeInterval = 10
    /// How long a delivery is retried, from its first attempt.
    public var giveUpAfter: TimeInterval = 86_400
    /// The first retry's delay; each next one doubles, up to `maxRetryDelay`.
    public var firstRetryDelay: TimeInterval = TestHooks.noticeRetrySeconds ?? 10
    public var maxRetryDelay: TimeInterval = 3600
    /// Made on the first URL delivery: a daemon with command targets only, or none, starts no HTTP client.
    private var httpClient: HTTPDelivery?
    var http: HTTPDelivery {
        if let httpClient { return httpClient }
        let made = HTTPDelivery()
        httpClient = made
        return made
    }
    let logger = Logger(label: "darkroom")
    let userAgent: String

    public init(store: any JobStore, targets: [NotifyTarget], galleryURL: URL?, version: String = "0") {
        self.store = store
        self.targets = targets
        self.galleryURL = galleryURL
        userAgent = "darkroom/\(version)"
    }

    deinit { httpClient?.shutdown() }

    /// The subscriptions the outbox fans out to (one per target).
    public var subscriptions: [NoticeSubscription] { targets.map { NoticeSubscription(target: $0.key, states: $0.on) } }

    /// Fans out new notices and tries every delivery due at `now` whose notice is `ready`; returns how many it tried.
    @discardableResult
    public func deliverDue(now: Date = Date(), when ready: (Notice) -> Bool = { _ in true }) throws -> Int {
        _ = try store.fanOutNotices(to: subscriptions, now: now)
        guard !targets.isEmpty else { return 0 }
        let byKey = Dictionary(targets.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var tried = 0
        for (notice, delivery) in try store.dueDeliveries(now: now, limit: 100) where ready(notice) {
            guard let target = byKey[delivery.target] else {
                // A target since removed from config.json: nobody is waiting for it any more.
                try store.recordDelivery(notice: notice.id, target: delivery.target,
                                         .failed(error: "the target is no longer in config.json", retryAt: nil), now: now)
                continue
            }
            TestHooks.killIfAt("notice-before-send")
            let outcome = try attempt(notice, delivery, to: target)
            TestHooks.killIfAt("notice-after-send")
            tried += 1
            let at = Date()
            switch outcome {
            case .success:
                let attemptText = delivery.attempts > 0 ? " (attempt \(delivery.attempts + 1))" : ""
                logger.info("notice: job \(notice.jobID) \(notice.event) delivered to \(target.label)\(attemptText)")
                try store.recordDelivery(notice: notice.id, target: delivery.target, .delivered, now: at)
            case .failure(let failure):
                let retryAt = nextAttempt(after: delivery.attempts + 1, first: delivery.firstAttemptAt, now: at)
                let then = retryAt.map { "trying again in \(durationText($0.timeIntervalSince(at)))" }
                    ?? "given up after \(delivery.attempts + 1) attempts over a day"
                logger.warning("notice: job \(notice.jobID) \(notice.event) to \(target.label): \(failure); \(then)")
                try store.recordDelivery(notice: notice.id, target: delivery.target, .failed(error: failure.description, retryAt: retryAt), now: at)
            }
        }
        return tried
    }

    /// When to try again after `attempts` failures, or nil once the next try would be past the day.
    public func nextAttempt(after attempts: Int, first: Date, now: Date) -> Date? {
        let delay = min(maxRetryDelay, firstRetryDelay * pow(2, Double(max(0, attempts - 1))))
        let next = now.addingTimeInterval(delay)
        return next.timeIntervalSince(first) > giveUpAfter ? nil : next
    }

    /// The event of a notice as it would be sent now (nil when its job is gone).
    public func event(_ notice: Notice) throws -> NoticeEvent? {
        guard let job = try store.job(notice.jobID) else { return nil }
        return NoticeEvent(notice: notice, job: job, results: try store.results(of: notice.jobID), galleryURL: galleryURL)
    }

    func attempt(_ notice: Notice, _ delivery: NoticeDelivery, to target: NotifyTarget) throws -> Result<Void, NoticeFailure> {
        guard let event = try event(notice) else { return .failure(NoticeFailure("job \(notice.jobID) is no longer in the database")) }
        switch target.destination {
        case .url(let url, let format):
            return http.send(NoticeRequest(event: event, url: url, format: format, galleryURL: galleryURL, userAgent: userAgent), timeout: timeout)
        case .command(let argv):
            return CommandDelivery.run(argv, event: event, timeout: timeout)
        }
    }
}
