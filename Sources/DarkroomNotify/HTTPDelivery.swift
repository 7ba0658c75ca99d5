import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Sends notice requests with async-http-client: one client for the sender's life, each request bounded by a timeout
/// (connecting, sending and reading the reply together). A 2xx reply is delivered; anything else is a failure whose
/// text names the status and the start of the reply, never the URL.
public final class HTTPDelivery: Sendable {
    let client: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(10))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends `request`, waiting at most `timeout` seconds; called from the sender's own thread.
    public func send(_ request: NoticeRequest, timeout: TimeInterval) -> Result<Void, NoticeFailure> {
        let box = ResultBox()
        let client = self.client
        let done = DispatchSemaphore(value: 0)
        Task {
            box.result = await HTTPDelivery.send(request, client: client, timeout: timeout)
            done.signal()
        }
        done.wait()
        return box.result
    }

    static func send(_ request: NoticeRequest, client: HTTPClient, timeout: TimeInterval) async -> Result<Void, NoticeFailure> {
        var r = HTTPClientRequest(url: request.url.absoluteString)
        r.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { r.headers.add(name: name, value: value) }
        r.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            let response = try await client.execute(r, timeout: .milliseconds(Int64(timeout * 1000)))
            let reply = try? await response.body.collect(upTo: 16 * 1024)
            if (200..<300).contains(response.status.code) { return .success(()) }
            let text = reply.map { String(buffer: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let start = text.prefix(200).replacingOccurrences(of: "\n", with: " ")
            return .failure(NoticeFailure("HTTP \(response.status.code) \(response.status.reasonPhrase)" + (start.isEmpty ? "" : ": \(start)")))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .failure(NoticeFailure("no reply within \(Int(timeout)) s"))
        } catch {
            return .failure(NoticeFailure(HTTPDelivery.describe(error)))
        }
    }

    /// A connection error in words, without the request's URL (which may hold a token).
    static func describe(_ error: Error) -> String {
        if let e = error as? HTTPClientError { return "HTTP client: \(e.shortDescription)" }
        if let e = error as? IOError { return "network: \(e.description)" }
        let text = String(describing: error)
        if text.contains("connectTimeout") || text.contains("connectionRefused") || text.contains("Connection refused") {
            return "connection refused or timed out (is the receiver running?)"
        }
        return "network: \(text.prefix(200))"
    }

    public func shutdown() { try? client.syncShutdown() }
}

// @unchecked Sendable: written by the task before it signals, read by the caller after waiting on the signal.
private final class ResultBox: @unchecked Sendable {
    var result: Result<Void, NoticeFailure> = .failure(NoticeFailure("not sent"))
}
