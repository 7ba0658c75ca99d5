import XCTest
import DarkroomDiffusion
import DarkroomTensor
import DarkroomTestSupport

/// The strided update with learned-range variance against diffusers' `DDPMScheduler.step` (IF stage I config),
/// with and without dynamic thresholding (scripts/reference/make_scheduler_fixtures.py).
final class IFStepParityTests: XCTestCase {
    func testStepMatchesDiffusers() throws {
        let f = try Fixtures.open("if_step.safetensors")
        let schedule = DDPMSchedule.cosine()
        XCTAssertEqual(f.metadata.count, 8)
        for (name, spec) in f.metadata.sorted(by: { $0.key < $1.key }) {
            let parts = spec.split(separator: ",").map { Int($0)! }
            let (t, previous, thresholding) = (parts[0], parts[1], parts[2] == 1)
            let output = try f.tensor("\(name).model_output")
            let eps = Tensor(uninitialized: [2, 3, 8, 8]), v = Tensor(uninitialized: [2, 3, 8, 8])
            for b in 0..<2 {
                (eps.pointer + b * 192).update(from: output.pointer + b * 384, count: 192)
                (v.pointer + b * 192).update(from: output.pointer + b * 384 + 192, count: 192)
            }
            let (prev, _) = DDPMStep.step(try f.tensor("\(name).sample"), epsilon: eps, variance: v, t: t, previous: previous,
                                          schedule: schedule, kind: .learnedRange, thresholding: thresholding,
                                          noise: try f.tensor("\(name).noise"))
            let expected = try f.tensor("\(name).prev_sample")
            let scale = expected.scalars.map(abs).max()!
            XCTAssertLessThanOrEqual(maxAbsDifference(prev, expected), 1e-5 * max(scale, 1), "\(name): t=\(t)→\(previous) thresholding \(thresholding)")
        }
    }
}
