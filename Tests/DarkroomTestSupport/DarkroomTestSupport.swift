// DarkroomTestSupport: fixture lookup, tolerant tensor comparison and temporary folders for the test targets.
import Foundation
import XCTest
import DarkroomTensor

/// Locates committed fixtures relative to a test file (`#filePath`), so tests run from any directory.
public enum Fixtures {
    /// `<folder of testFile>/Fixtures/<relative>`.
    public static func path(_ relative: String, testFile: String = #filePath) -> String {
        URL(fileURLWithPath: testFile).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(relative).path
    }

    /// Opens a committed safetensors fixture.
    public static func open(_ relative: String, testFile: String = #filePath) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: path(relative, testFile: testFile))
    }
}

/// Largest absolute difference between two tensors of equal shape.
public func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in 0..<a.count { worst = max(worst, abs(a.pointer[i] - b.pointer[i])) }
    return worst
}

/// Fails unless `actual` has `expected`'s shape and every element is within `tolerance`.
public func assertClose(
    _ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-4, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let diff = maxAbsDifference(actual, expected)
    XCTAssertLessThanOrEqual(diff, tolerance, "max |Δ| \(diff) \(message)", file: file, line: line)
    XCTAssertFalse(diff.isNaN, "NaN in output \(message)", file: file, line: line)
}

/// A fresh temporary folder, removed when the test case finishes.
public func temporaryFolder(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

extension Process {
    /// Waits for the process to end, at most `seconds`; past that it is killed (SIGKILL) and the test fails, so that
    /// no test ever hangs on a process.
    public func waitForExit(within seconds: Double = 120, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if isRunning {
            kill(processIdentifier, SIGKILL)
            XCTFail("\(executableURL?.lastPathComponent ?? "a process") \(arguments?.first ?? "") did not exit within \(Int(seconds)) s; killed",
                    file: file, line: line)
        }
        waitUntilExit()  // reaps it; at once, now that it has ended
    }
}

/// Items appended from concurrent closures.
public final class Collected<T>: @unchecked Sendable {
    // @unchecked: `stored` is only touched while `lock` is held.
    private let lock = NSLock()
    private var stored: [T] = []
    public init() {}
    public func append(_ item: T) { lock.lock(); stored.append(item); lock.unlock() }
    public var items: [T] { lock.lock(); defer { lock.unlock() }; return stored }
}
