import Foundation
import XCTest
import DarkroomJobModel
import DarkroomNotify
import DarkroomStore

/// What a notice sends, without a network: the event's keys, the json and ntfy requests, a command's environment,
/// the backoff.
final class NoticeRequestTests: XCTestCase {
    let gallery = URL(string: "https://photos.example.org/dr/")!

    func event(state: JobState = .done, name: String = "cat", error: String? = nil, served: Bool = true) throws -> NoticeEvent {
        let ended = Date(timeIntervalSince1970: 1_800_000_000)
        var job = Job(name: name, request: EditRequest(mode: .generate), model: "fashion", inputHash: "h", folder: "/srv/g/jobs/7")
        job.id = 7
        job.prompt = "a bag"
        job.seed = 42
        job.preset = "ladder"
        job.startedAt = ended.addingTimeInterval(-41.25)
        let results = [JobResult(jobID: 7, kind: .gif, path: "/srv/g/jobs/7/progress.gif", size: 1, index: nil),
                       JobResult(jobID: 7, kind: .result, path: "/srv/g/jobs/7/result.png", size: 1, index: 0)]
        let notice = Notice(id: 1, eventID: "0123456789abcdef0123456789abcdef", jobID: 7, state: state, error: error, createdAt: ended)
        return NoticeEvent(notice: notice, job: job, results: results, galleryURL: served ? gallery : nil)
    }

    func testTheEventHasEveryDocumentedKeyAbsentOnesAsNull() throws {
        let e = try event()
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: e.json()) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["event", "event_id", "time", "id", "name", "state", "mode", "model", "prompt", "prompts",
                                          "preset", "seed", "seconds", "error", "outputs", "page", "url"])
        XCTAssertEqual(object["event"] as? String, "job.done")
        XCTAssertEqual(object["id"] as? Int, 7)
        XCTAssertEqual(object["seconds"] as? Double, 41.25)
        XCTAssertTrue(object["error"] is NSNull, "absent values are null, not missing")
        XCTAssertEqual(object["outputs"] as? [String], ["jobs/7/result.png", "jobs/7/progress.gif"], "results first")
        XCTAssertEqual(object["page"] as? String, "jobs/7/index.html")
        XCTAssertEqual(object["url"] as? String, "https://photos.example.org/dr/jobs/7/index.html")
        XCTAssertEqual(object["time"] as? String, "2027-01-15T08:00:00.000Z")
        XCTAssertEqual(e.environment["DARKROOM_EVENT_ID"], e.eventID)
        XCTAssertEqual(e.environment["DARKROOM_OUTPUTS"], "jobs/7/result.png\njobs/7/progress.gif")
        XCTAssertEqual(e.environment["DARKROOM_ERROR"], "")
    }

    func testAJSONRequestCarriesTheEventAndItsIdempotencyKey() throws {
        let e = try event()
        let r = NoticeRequest(event: e, url: URL(string: "http://127.0.0.1:9/hook")!, format: .json, galleryURL: gallery, userAgent: "darkroom")
        XCTAssertEqual(r.method, "POST")
        XCTAssertEqual(r.header("content-type"), "application/json")
        XCTAssertEqual(r.header("Idempotency-Key"), e.eventID)
        XCTAssertEqual(try JSONDecoder().decode(NoticeEvent.self, from: r.body), e)
    }

    func testAnNtfyRequestHasTheMessageAsBodyAndNtfysHeaders() throws {
        let done = NoticeRequest(event: try event(), url: URL(string: "https://ntfy.sh/t")!, format: .ntfy, galleryURL: gallery, userAgent: "darkroom")
        XCTAssertEqual(done.header("Title"), "Darkroom: cat done")
        XCTAssertEqual(done.header("Tags"), "white_check_mark,darkroom")
        XCTAssertEqual(done.header("Click"), "https://photos.example.org/dr/jobs/7/index.html")
        XCTAssertEqual(done.header("Attach"), "https://photos.example.org/dr/jobs/7/result.png")
        XCTAssertNil(done.header("Priority"))
        let body = String(decoding: done.body, as: UTF8.self)
        XCTAssertTrue(body.hasPrefix("Job 7 'cat' done after 41s (generate on fashion, preset ladder)"), body)
        XCTAssertTrue(body.contains("Prompt: a bag"), body)

        let failed = NoticeRequest(event: try event(state: .failed, name: "chat noir é", error: "out of memory", served: false), url: URL(string: "https://ntfy.sh/t")!,
                                   format: .ntfy, galleryURL: nil, userAgent: "darkroom")
        XCTAssertEqual(failed.header("Tags"), "x,darkroom")
        XCTAssertEqual(failed.header("Priority"), "high")
        XCTAssertNil(failed.header("Click"), "no gallery_url: no links")
        XCTAssertNil(failed.header("Attach"))
        let title = try XCTUnwrap(failed.header("Title"))
        XCTAssertTrue(title.hasPrefix("=?UTF-8?B?"), "a header that is not ASCII is an RFC 2047 word: \(title)")
        let b64 = title.dropFirst(10).dropLast(2)
        XCTAssertEqual(Data(base64Encoded: String(b64)).map { String(decoding: $0, as: UTF8.self) }, "Darkroom: chat noir é failed")
        XCTAssertTrue(String(decoding: failed.body, as: UTF8.self).contains("Error: out of memory"))
    }

    func testRetriesBackOffFromTenSecondsToAnHourAndStopAfterADay() throws {
        let sender = NoticeSender(store: try SQLiteJobStore(), targets: [], galleryURL: nil)
        sender.firstRetryDelay = 10
        let t0 = Date(timeIntervalSince1970: 0)
        XCTAssertEqual(sender.nextAttempt(after: 1, first: t0, now: t0)?.timeIntervalSince(t0), 10)
        XCTAssertEqual(sender.nextAttempt(after: 2, first: t0, now: t0)?.timeIntervalSince(t0), 20)
        XCTAssertEqual(sender.nextAttempt(after: 5, first: t0, now: t0)?.timeIntervalSince(t0), 160)
        XCTAssertEqual(sender.nextAttempt(after: 30, first: t0, now: t0)?.timeIntervalSince(t0), 3600, "at most an hour apart")
        XCTAssertNotNil(sender.nextAttempt(after: 30, first: t0, now: t0.addingTimeInterval(82_000)))
        XCTAssertNil(sender.nextAttempt(after: 30, first: t0, now: t0.addingTimeInterval(83_000)), "not past a day from the first attempt")
    }
}
