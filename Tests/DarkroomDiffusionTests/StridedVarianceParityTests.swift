import XCTest
import DarkroomDiffusion
import DarkroomTensor
import DarkroomTestSupport

/// The small UNet's strided step against diffusers' `DDPMScheduler.step` with the linear T = 300 schedule, σ² = β
/// of the stride (`fixed_large`) and the posterior β̃ (`fixed_small`), at strides 1 and 10
/// (scripts/reference/make_scheduler_fixtures.py).
final class StridedVarianceParityTests: XCTestCase {
    private func cases() throws -> [(name: String, t: Int, previous: Int, variance: String, f: SafeTensorsFile)] {
        let f = try Fixtures.open("tiny_step.safetensors")
        return f.metadata.sorted(by: { $0.key < $1.key }).map { name, spec in
            let parts = spec.split(separator: ",").map(String.init)
            return (name, Int(parts[0])!, Int(parts[1])!, parts[2], f)
        }
    }

    private func step(_ c: (name: String, t: Int, previous: Int, variance: String, f: SafeTensorsFile), _ kind: VarianceKind) throws -> Tensor {
        try DDPMStep.step(c.f.tensor("\(c.name).sample"), epsilon: c.f.tensor("\(c.name).epsilon"), variance: nil,
                          t: c.t, previous: c.previous, schedule: .linear(timesteps: 300, start: 1e-4, end: 0.02),
                          kind: kind, thresholding: false, noise: c.f.tensor("\(c.name).noise")).0
    }

    func testBetaAndPosteriorVariancesMatchDiffusers() throws {
        let all = try cases()
        XCTAssertEqual(all.count, 12)
        for c in all {
            let kind: VarianceKind = c.variance == "fixed_large" ? .fixedLarge : .fixedSmall
            let expected = try c.f.tensor("\(c.name).prev_sample")
            XCTAssertLessThanOrEqual(maxAbsDifference(try step(c, kind), expected), 1e-5, "\(c.name): \(c.variance) t=\(c.t)→\(c.previous)")
        }
    }

    func testBetaAtUnitStrideIsTheCoursesStepAtStrideOneAndThePosteriorsWhenSkipping() throws {
        for c in try cases() {
            let expectedKind: VarianceKind = c.t - c.previous == 1 ? .fixedLarge : .fixedSmall
            XCTAssertEqual(try step(c, .betaAtUnitStride).scalars, try step(c, expectedKind).scalars, "\(c.name)")
        }
        // At stride 10 near the end, β of the stride is several times the posterior's variance: the two differ.
        let late = try cases().first { $0.t == 10 && $0.previous == 0 }!
        XCTAssertGreaterThan(maxAbsDifference(try step(late, .fixedLarge), try step(late, .betaAtUnitStride)), 0.05)
    }
}
