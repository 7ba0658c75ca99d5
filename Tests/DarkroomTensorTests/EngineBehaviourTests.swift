import XCTest
import DarkroomTensor
import DarkroomTestSupport

/// Properties of the engine that need no reference: shape errors, invariants, determinism.
final class EngineBehaviourTests: XCTestCase {
    func testShapeMismatchesAreErrorsNotCrashes() {
        let x = Tensor(zeros: [1, 3, 8, 8])
        XCTAssertThrowsError(try Conv2d.forward(x, weight: Tensor(zeros: [4, 2, 3, 3]), bias: nil))
        XCTAssertThrowsError(try Conv2d.forward(x, weight: Tensor(zeros: [4, 3, 3, 3]), bias: Tensor(zeros: [5])))
        XCTAssertThrowsError(try Conv2d.forward(x, weight: Tensor(zeros: [4, 3, 9, 9]), bias: nil))
        XCTAssertThrowsError(try Linear.forward(Tensor(zeros: [2, 5]), weight: Tensor(zeros: [3, 4]), bias: nil))
        XCTAssertThrowsError(try Elementwise.add(Tensor(zeros: [2, 3]), Tensor(zeros: [4])))
        XCTAssertThrowsError(try Normalization.groupNorm(x, groups: 2, weight: nil, bias: nil))
        XCTAssertThrowsError(try GaussianBlur.apply(x, size: 4, sigma: 1))
    }

    func testSoftmaxRowsSumToOneEvenForLargeLogits() {
        let x = Tensor(shape: [2, 3], data: [1000, 1001, 1002, -5, 0, 5])
        let s = Softmax.lastDimension(x)
        for r in 0..<2 {
            let sum = (0..<3).reduce(Float(0)) { $0 + s[r, $1] }
            XCTAssertEqual(sum, 1, accuracy: 1e-6)
        }
        XCTAssertFalse(s.scalars.contains { $0.isNaN })
    }

    func testGaussianBlurPreservesConstantImagesAndMean() throws {
        let flat = Tensor(repeating: 0.7, shape: [1, 1, 10, 10])
        let blurred = try GaussianBlur.apply(flat, size: 7, sigma: 2)
        XCTAssertEqual(maxAbsDifference(blurred, flat), 0, accuracy: 1e-6)
        XCTAssertEqual(GaussianBlur.kernel(size: 33, sigma: 2).reduce(0, +), 1, accuracy: 1e-6)
    }

    func testRandomSourceIsDeterministicAndGaussian() {
        var a = RandomSource(seed: 42), b = RandomSource(seed: 42), c = RandomSource(seed: 43)
        let ta = a.gaussian([10_000]), tb = b.gaussian([10_000]), tc = c.gaussian([10_000])
        XCTAssertEqual(ta.scalars, tb.scalars)
        XCTAssertNotEqual(ta.scalars, tc.scalars)
        let mean = ta.scalars.reduce(0, +) / 10_000
        let variance = ta.scalars.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 10_000
        XCTAssertEqual(mean, 0, accuracy: 0.04)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }

    func testModulateScalesAndShiftsPerSampleChannel() throws {
        let x = Tensor(repeating: 2, shape: [2, 2, 3, 3])
        let scale = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        let shift = Tensor(shape: [2, 2], data: [0, 1, 0, -1])
        try Elementwise.modulateInPlace(x, scale: scale, shift: shift)
        XCTAssertEqual([x[0, 0, 1, 1], x[0, 1, 2, 2], x[1, 0, 0, 0], x[1, 1, 0, 2]], [2, 5, 6, 7])
    }
}
