import XCTest
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
@testable import DarkroomTraining

/// One and two Adam steps of MSE training against PyTorch (scripts/reference/make_fixtures.py): loss, every
/// gradient, every updated weight and running statistic, within 1e-4 relative to the tensor's scale.
final class TrainingStepParityTests: XCTestCase {
    /// max|a − b| ≤ 1e-4 · max|b|, with a floor of 1e-7 for tensors that are zero in exact arithmetic.
    private func assertRelativelyClose(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        let scale = b.scalars.map(abs).max() ?? 0
        let diff = maxAbsDifference(a, b)
        XCTAssertLessThanOrEqual(diff, max(1e-4 * scale, 1e-7), "\(what): max |Δ| \(diff), scale \(scale)", file: file, line: line)
    }

    /// Adam moves an element by about lr·g/(|g| + ε): where |g| is at rounding-noise level (< 1e-6, e.g. behind a
    /// GELU that is nearly zero for the whole batch) the direction is noise in any float32 implementation, so such
    /// elements are only held to Adam's bound |Δw| ≤ lr per step; all others must match within 1e-4 relative.
    private func assertAdamUpdateClose(
        _ a: Tensor, _ b: Tensor, gradient: Tensor, steps: Int, learningRate: Float, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        let scale = b.scalars.map(abs).max() ?? 0
        var worst: Float = 0, noisy = 0
        for i in 0..<a.count {
            let d = abs(a.pointer[i] - b.pointer[i])
            let g = abs(gradient.pointer[i])
            if g == 0 {
                // An exactly zero gradient (a class absent from the batch) must leave the weight exactly as it was.
                XCTAssertLessThanOrEqual(d, 1e-7 * max(1, abs(b.pointer[i])), "\(what)[\(i)]", file: file, line: line)
            } else if g < 1e-6 {
                noisy += 1
                XCTAssertLessThanOrEqual(d, 2 * Float(steps) * learningRate, "\(what)[\(i)]", file: file, line: line)
            } else {
                worst = max(worst, d)
            }
        }
        XCTAssertLessThanOrEqual(worst, max(1e-4 * scale, 1e-7), "step \(steps) \(what): max |Δ| \(worst)", file: file, line: line)
        XCTAssertLessThanOrEqual(noisy, a.count / 20 + 1, "\(what): too many vanishing gradients for a meaningful check")
    }

    /// Two steps from the fixture's weights, once per convolution backend this machine can run.
    private func check(_ name: String) throws {
        try ConvolutionBackends.each { _ in try checkSteps(name) }
    }

    private func checkSteps(_ name: String) throws {
        let folder = Fixtures.path(name)
        let config = try TinyUNetConfig.load(path: folder + "/config.json")
        let model = try TrainableUNet(config: config, weights: folder + "/model.safetensors")
        let f = try SafeTensorsFile(path: folder + "/step.safetensors")
        let c = f.contains("c") ? try f.tensor("c") : nil
        var adam = Adam(learningRate: Float(f.metadata["lr"]!)!)
        for step in 1...2 {
            model.zeroGrad()
            let out = try model.forward(try f.tensor("x"), t: try f.tensor("t"), c: c, training: true)
            let (loss, grad) = try MeanSquaredError.lossAndGradient(out, try f.tensor("target"))
            XCTAssertEqual(loss, try f.tensor("loss\(step)").pointer[0], accuracy: 1e-4 * loss, "loss of step \(step)")
            try model.backward(grad)
            if step == 1 {
                for p in model.parameters { assertRelativelyClose(p.grad, try f.tensor("grad." + p.name), "grad \(p.name)") }
            }
            adam.update(model.parameters)
            for (key, value) in model.stateDict().tensors {
                let expected = try f.tensor("after\(step).\(key)")
                if f.contains("grad." + key) {
                    try assertAdamUpdateClose(value, expected, gradient: try f.tensor("grad." + key), steps: step,
                                              learningRate: adam.learningRate, key)
                } else {
                    assertRelativelyClose(value, expected, "step \(step) \(key)")
                }
            }
        }
        XCTAssertEqual(model.stateDict().counters["in_block.first.norm.num_batches_tracked"], 9)
    }

    func testClassConditionedStepsMatchPyTorch() throws { try check("step_class_c1_d6_k3") }

    func testTimeOnlyThreeChannelStepsMatchPyTorch() throws { try check("step_time_c3_d4") }
}
