import XCTest
import DarkroomTestSupport
@testable import DarkroomTensor

/// The fused batch norm + GELU of training against the two layers one after the other.
final class BatchNormGELUTests: XCTestCase {
    func testFusedPassesEqualBatchNormThenGELU() throws {
        var rng = RandomSource(seed: 31)
        // Planes of 49 (eight-lane loops with a tail) and 3 (tail only).
        for shape in [[4, 5, 7, 7], [3, 2, 1, 3]] {
            let x = rng.gaussian(shape), dy = rng.gaussian(shape)
            let c = shape[1]
            let gamma = rng.gaussian([c]), beta = rng.gaussian([c])
            let (meanA, varA, meanB, varB) = (Tensor(zeros: [c]), Tensor(repeating: 1, shape: [c]), Tensor(zeros: [c]), Tensor(repeating: 1, shape: [c]))
            let (fused, fusedCache) = try BatchNormTraining.forward(x, weight: gamma, bias: beta, runningMean: meanA, runningVariance: varA, gelu: true)
            let (u, cache) = try BatchNormTraining.forward(x, weight: gamma, bias: beta, runningMean: meanB, runningVariance: varB)
            XCTAssertLessThan(maxAbsDifference(fused, Activation.gelu(u)), 1e-6)
            XCTAssertEqual(meanA.scalars, meanB.scalars)
            XCTAssertEqual(varA.scalars, varB.scalars)

            let (dgA, dbA, dgB, dbB) = (Tensor(zeros: [c]), Tensor(zeros: [c]), Tensor(zeros: [c]), Tensor(zeros: [c]))
            let dxFused = BatchNormTraining.backwardGELU(dy, cache: fusedCache, weight: gamma, bias: beta, weightGrad: dgA, biasGrad: dbA)
            let dx = BatchNormTraining.backward(Activation.geluBackward(dy, input: u), cache: cache, weight: gamma, weightGrad: dgB, biasGrad: dbB)
            XCTAssertLessThan(maxAbsDifference(dxFused, dx), 1e-5)
            XCTAssertLessThan(maxAbsDifference(dgA, dgB), 1e-4)
            XCTAssertLessThan(maxAbsDifference(dbA, dbB), 1e-4)
        }
    }
}
