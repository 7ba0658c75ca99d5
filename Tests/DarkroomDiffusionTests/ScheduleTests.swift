import XCTest
import DarkroomDiffusion
import DarkroomTensor
import DarkroomTestSupport

/// Schedules against the spec's table and diffusers, and the forward process's statistics.
final class ScheduleTests: XCTestCase {
    func testCosineScheduleMatchesSpecTable() {
        let s = DDPMSchedule.cosine()
        let table: [(Int, Double)] = [(0, 0.99995869), (30, 0.99646574), (300, 0.78563243), (500, 0.49228504),
                                      (690, 0.21452300), (960, 0.0036896109), (990, 0.00019671733), (999, 2.4287e-9)]
        XCTAssertEqual(s.maxTimestep, 999)
        for (t, expected) in table {
            XCTAssertEqual(s.alphaBars[t], expected, accuracy: expected * 2e-7 + 1e-12, "ᾱ_\(t)")
        }
    }

    func testCosineScheduleEqualsDiffusersEverywhere() throws {
        let reference = try Fixtures.open("if_step.safetensors").tensor("alphas_cumprod")
        let s = DDPMSchedule.cosine()
        for t in 0..<1000 { XCTAssertEqual(Float(s.alphaBars[t]), reference.pointer[t], "ᾱ_\(t)") }
    }

    func testLinearScheduleEndpoints() {
        let s = DDPMSchedule.linear(timesteps: 300)
        XCTAssertEqual(s.alphaBars[0], 1)
        XCTAssertEqual(s.alphaBars[1], 1 - 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s.alphaBars[300] / s.alphaBars[299], 1 - 0.02, accuracy: 1e-12)
        XCTAssertEqual(s.stridedTimesteps(stride: 1).count, 301)
        XCTAssertEqual(DDPMSchedule.cosine().stridedTimesteps(from: 990, stride: 30).prefix(3), [990, 960, 930])
        XCTAssertEqual(DDPMSchedule.cosine().stridedTimesteps(from: 990, stride: 30).last, 0)
    }

    func testForwardProcessHasTheRightMeanAndVariance() {
        let s = DDPMSchedule.linear(timesteps: 300)
        var rng = RandomSource(seed: 3)
        let x0 = Tensor(repeating: 0.8, shape: [1, 1, 100, 100])
        for t in [30, 150, 299] {
            let xt = ForwardProcess.noise(x0, t: t, schedule: s, rng: &rng)
            let v = xt.scalars
            let mean = v.reduce(0, +) / Float(v.count)
            let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(v.count)
            let ab = Float(s.alphaBars[t])
            XCTAssertEqual(mean, ab.squareRoot() * 0.8, accuracy: 0.03, "mean at t=\(t)")
            XCTAssertEqual(variance, 1 - ab, accuracy: 0.03 * max(1 - ab, 0.1), "variance at t=\(t)")
        }
    }

    func testOneStepEstimateInvertsTheForwardProcessWithTheTrueNoise() {
        let s = DDPMSchedule.cosine()
        var rng = RandomSource(seed: 4)
        let x0 = rng.uniform([2, 3, 8, 8]), eps = rng.gaussian([2, 3, 8, 8])
        let xt = ForwardProcess.noise(x0, t: 500, schedule: s, epsilon: eps)
        assertClose(ForwardProcess.estimateClean(xt, epsilon: eps, t: 500, schedule: s), x0, tolerance: 1e-5)
    }
}
