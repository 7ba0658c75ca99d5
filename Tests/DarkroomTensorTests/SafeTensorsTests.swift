import XCTest
import DarkroomTensor
import DarkroomTestSupport

/// safetensors round trips, dtype conversion and clear errors on malformed files.
final class SafeTensorsTests: XCTestCase {
    func testRoundTripKeepsShapesValuesAndMetadata() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("t.safetensors").path
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [1], data: [-0.5])
        try SafeTensorsWriter.write(["alpha": a, "beta": b], metadata: ["k": "v"], to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f.names, ["alpha", "beta"])
        XCTAssertEqual(f.metadata, ["k": "v"])
        XCTAssertEqual(try f.tensor("alpha").shape, [2, 3])
        XCTAssertEqual(try f.tensor("alpha").scalars, a.scalars)
        XCTAssertEqual(try f.tensor("beta").scalars, [-0.5])
        XCTAssertThrowsError(try f.tensor("gamma")) { error in
            XCTAssertEqual(error as? TensorError, .missingTensor(path: path, name: "gamma"))
        }
    }

    /// Builds a file by hand so that dtypes the writer does not produce are covered.
    private func writeRaw(_ header: String, _ payload: [UInt8], to path: String) throws {
        var data = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: payload)
        try data.write(to: URL(fileURLWithPath: path))
    }

    func testReadsF16BF16AndI64() throws {
        let path = try temporaryFolder(self).appendingPathComponent("mixed.safetensors").path
        var payload: [UInt8] = []
        for v in [Float16(1.5), Float16(-2)] { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload += $0 } }
        for v: Float in [3.0, -0.25] { withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { payload += $0 } }
        for v: Int64 in [7, -9] { withUnsafeBytes(of: v.littleEndian) { payload += $0 } }
        let header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"i":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}}"#
        try writeRaw(header, payload, to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(try f.tensor("h").scalars, [1.5, -2])
        XCTAssertEqual(try f.tensor("b").scalars, [3.0, -0.25])
        XCTAssertEqual(try f.int64Values("i"), [7, -9])
        XCTAssertEqual(try f.tensor("i").scalars, [7, -9])
    }

    func testMalformedFilesAreClearErrors() throws {
        let dir = try temporaryFolder(self)
        func expectError(_ header: String, _ payload: [UInt8], mentions words: [String], line: UInt = #line) throws {
            let path = dir.appendingPathComponent(UUID().uuidString).path
            try writeRaw(header, payload, to: path)
            XCTAssertThrowsError(try SafeTensorsFile(path: path), line: line) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(path), "\(text) should name the file", line: line)
                for w in words { XCTAssertTrue(text.contains(w), "\(text) should mention \(w)", line: line) }
            }
        }
        try expectError(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, [0, 0, 0, 0], mentions: ["'w'", "truncated"])
        try expectError(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), mentions: ["'w'", "needs 12 bytes"])
        try expectError(#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), mentions: ["'w'", "F64"])
        try expectError("not json", [], mentions: ["JSON"])

        let short = dir.appendingPathComponent("short").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: short))
        XCTAssertThrowsError(try SafeTensorsFile(path: short)) { XCTAssertTrue("\($0)".contains("truncated")) }
        let huge = dir.appendingPathComponent("huge").path
        var n = UInt64(1 << 40).littleEndian
        var data = Data(); withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: huge))
        XCTAssertThrowsError(try SafeTensorsFile(path: huge)) { XCTAssertTrue("\($0)".contains("exceeds file size")) }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir.appendingPathComponent("absent").path)) {
            XCTAssertTrue("\($0)".contains("cannot open"))
        }
    }
}
