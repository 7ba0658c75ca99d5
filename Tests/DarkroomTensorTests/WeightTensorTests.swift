import XCTest
import DarkroomTensor

/// Half-precision weights kept as is and widened on use.
final class WeightTensorTests: XCTestCase {
    final class Owner {}

    func testHalfValuesWidenExactly() throws {
        // Every finite half value class: zeros, subnormals, normals, the largest, negatives; odd count for the tail.
        let values: [Float16] = [0, -0, 0.000_000_06, 0.000_061, 1, -1.5, 65504, -65504, 3.140625, 0.1, 1e-3, 2.5e-5, 7]
        let bits = values.map(\.bitPattern)
        let owner = Owner()
        bits.withUnsafeBufferPointer { buffer in
            let weight = WeightTensor(half: buffer.baseAddress!, shape: [values.count], owner: owner)
            XCTAssertTrue(weight.isHalf)
            XCTAssertEqual(weight.widened().scalars, values.map(Float.init))
            weight.withFloat { t in XCTAssertEqual(t.scalars, values.map(Float.init)) }
        }
    }

    func testLargeWeightsWidenAcrossThreadsAndScratchGrows() throws {
        var rng = RandomSource(seed: 1)
        let source = rng.gaussian([300_001])
        let halves = source.scalars.map { Float16($0).bitPattern }
        halves.withUnsafeBufferPointer { buffer in
            let small = WeightTensor(half: buffer.baseAddress!, shape: [10], owner: Owner())
            small.withFloat { XCTAssertEqual($0.count, 10) }
            let big = WeightTensor(half: buffer.baseAddress!, shape: [halves.count], owner: Owner())
            let expected = source.scalars.map { Float(Float16($0)) }
            big.withFloat { XCTAssertEqual($0.scalars, expected) }
        }
    }

    func testFloatWeightsArePassedThrough() throws {
        let t = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        let w = WeightTensor(t)
        XCTAssertFalse(w.isHalf)
        w.withFloat { XCTAssertTrue($0.storage === t.storage) }
    }
}
