import Foundation
import DarkroomJobModel
import DarkroomSupport

/// The HTTP request that delivers an event to a URL target, in the target's format: plain values, so that what is sent
/// is tested without a network.
public struct NoticeRequest: Equatable, Sendable {
    public var url: URL
    public var method = "POST"
    /// Header name → value, in the order sent.
    public var headers: [(String, String)]
    public var body: Data

    public static func == (a: NoticeRequest, b: NoticeRequest) -> Bool {
        a.url == b.url && a.method == b.method && a.body == b.body && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }

    /// The value of header `name` (case-insensitive), if sent.
    public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    public init(event: NoticeEvent, url: URL, format: NotifyTarget.Format, galleryURL: URL?, userAgent: String) {
        self.url = url
        switch format {
        case .json:
            headers = [("Content-Type", "application/json"), ("Idempotency-Key", event.eventID), ("X-Darkroom-Event", event.event)]
            body = event.json()
        case .ntfy:
            // ntfy's publish headers (docs.ntfy.sh/publish): Title, Tags (emoji short codes), Priority, Click, Attach.
            headers = [("Title", NoticeRequest.headerText(NoticeRequest.title(event))), ("Tags", NoticeRequest.tags(event)),
                       ("X-Darkroom-Event", event.event), ("Idempotency-Key", event.eventID)]
            if event.state == JobState.failed.rawValue { headers.append(("Priority", "high")) }
            if let page = event.url { headers.append(("Click", page)) }
            if let first = event.outputURL(0, galleryURL: galleryURL) { headers.append(("Attach", first)) }
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
            body = Data(NoticeRequest.message(event).utf8)
        }
        headers.append(("User-Agent", userAgent))
    }

    /// "Darkroom: cat done", "Darkroom: cat failed".
    static func title(_ e: NoticeEvent) -> String { "Darkroom: \(e.name) \(e.state)" }

    /// One emoji per end, and "darkroom".
    static func tags(_ e: NoticeEvent) -> String {
        let emoji = ["done": "white_check_mark", "failed": "x", "rejected": "no_entry", "cancelled": "stop_sign"][e.state] ?? "bell"
        return "\(emoji),darkroom"
    }

    /// The body of an ntfy message: what happened, the prompt and the error, a line each.
    static func message(_ e: NoticeEvent) -> String {
        var lines = ["Job \(e.id) '\(e.name)' \(e.state)" + (e.seconds.map { " after \(durationText($0))" } ?? "")
                     + " (\(e.mode) on \(e.model)\(e.preset.map { ", preset \($0)" } ?? ""))"]
        if !e.prompt.isEmpty && e.prompt != "-" { lines.append("Prompt: \(e.prompt)") }
        if let error = e.error, !error.isEmpty { lines.append("Error: \(error)") }
        if !e.outputs.isEmpty { lines.append("\(e.outputs.count) file\(e.outputs.count == 1 ? "" : "s"): \(e.outputs[0])\(e.outputs.count > 1 ? ", …" : "")") }
        return lines.joined(separator: "\n")
    }


    /// A header value: ASCII as it is; anything else as an RFC 2047 encoded word, which ntfy decodes.
    static func headerText(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) { return clean }
        return "=?UTF-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }
}
