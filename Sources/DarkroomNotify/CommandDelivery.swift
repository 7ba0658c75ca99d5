import Foundation

/// Runs a command target: the program with its arguments (no shell), the event as JSON on stdin and as `DARKROOM_*`
/// variables beside the daemon's own environment. Exit status 0 is delivered; anything else, or running past the
/// timeout (then it is killed), is a failure to retry.
public enum CommandDelivery {
    public static func run(_ argv: [String], event: NoticeEvent, timeout: TimeInterval) -> Result<Void, NoticeFailure> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(event.environment) { _, new in new }
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        do { try process.run() } catch {
            return .failure(NoticeFailure("cannot run \(argv[0]): \(error.localizedDescription)"))
        }
        // A program that does not read its stdin must not block the sender: write from another thread.
        let body = event.json()
        let writer = Thread {
            signal(SIGPIPE, SIG_IGN)
            try? stdin.fileHandleForWriting.write(contentsOf: body)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errorText = ErrorText()
        let reader = Thread {
            errorText.data = (try? stderr.fileHandleForReading.readToEnd()) ?? Data()
            errorText.read.signal()
        }
        reader.start()
        if ended.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if ended.wait(timeout: .now() + 2) == .timedOut { kill(process.processIdentifier, SIGKILL); ended.wait() }
            return .failure(NoticeFailure("\(argv[0]) ran longer than \(Int(timeout)) s and was stopped"))
        }
        _ = errorText.read.wait(timeout: .now() + 1)
        if process.terminationStatus == 0 && process.terminationReason == .exit { return .success(()) }
        let tail = String(decoding: errorText.data.suffix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
        return .failure(NoticeFailure("\(argv[0]) \(how)" + (tail.isEmpty ? "" : ": \(tail)")))
    }
}

/// What a command wrote to stderr, read on its own thread (a full pipe must not stall the command).
// @unchecked Sendable: `data` is written once by the reader thread, then read only after `read` was signalled.
private final class ErrorText: @unchecked Sendable {
    var data = Data()
    let read = DispatchSemaphore(value: 0)
}

/// Why one delivery failed, as the log and `status --notices` say it (never with the URL's secrets).
public struct NoticeFailure: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
