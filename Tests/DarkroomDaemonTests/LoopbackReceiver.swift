import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A webhook receiver for the notice tests: an HTTP/1.1 server on 127.0.0.1 that records every request and answers
/// with `status` (one request per connection). `stop()` closes the port (connections are refused: the receiver is
/// down) and `start()` opens the same port again.
final class LoopbackReceiver: @unchecked Sendable {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data

        func header(_ name: String) -> String? { headers[name.lowercased()] }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    // @unchecked Sendable: `received`, `status` and `listener` are guarded by `lock`.
    private let lock = NSLock()
    private var received: [Request] = []
    private var listener: Int32 = -1
    private var statusCode = 200
    private(set) var port: UInt16 = 0

    init() throws { try start() }
    deinit { stop() }

    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return received }
    var status: Int {
        get { lock.lock(); defer { lock.unlock() }; return statusCode }
        set { lock.lock(); statusCode = newValue; lock.unlock() }
    }
    var url: String { "http://127.0.0.1:\(port)/hook" }

    func start() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        lock.lock(); listener = fd; lock.unlock()
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                serve(client)
            }
        }
        thread.start()
    }

    func stop() {
        lock.lock(); let fd = listener; listener = -1; lock.unlock()
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            data.append(contentsOf: buffer[0..<n])
            headerEnd = data.range(of: Data("\r\n\r\n".utf8))
        }
        let head = String(decoding: data[..<headerEnd!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let first = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Data(data[headerEnd!.upperBound...])
        while body.count < length {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { break }
            body.append(contentsOf: buffer[0..<n])
        }
        let code = status
        lock.lock()
        received.append(Request(method: String(first.first ?? ""), path: first.count > 1 ? String(first[1]) : "", headers: headers, body: body))
        lock.unlock()
        let reply = "HTTP/1.1 \(code) \(code == 200 ? "OK" : "Unavailable")\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        _ = reply.withCString { write(client, $0, strlen($0)) }
    }
}
