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

    /// Adam moves an element by about lr·g/(|g| + ε), so an error δ in its gradient moves the update by up to about
    /// lr·δ/|g| per step. The gradients are held to δ = 1e-4 of the tensor's largest gradient (`assertRelativelyClose`),
    /// and that tolerance, carried through Adam, is what each updated weight is held to beyond 1e-4 of the weights'
    /// scale: 2·steps·lr·min(1, δ/|g|). Where |g| is at rounding-noise level (below δ or 1e-6, e.g. behind a GELU that
    /// is nearly zero for the whole batch) this is Adam's own bound |Δw| ≤ lr per step. Winograd's gradients (more
    /// roundings through its transforms) use more of δ than direct ones do.
    private func assertAdamUpdateClose(
        _ a: Tensor, _ b: Tensor, gradient: Tensor, steps: Int, learningRate: Float, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        let scale = b.scalars.map(abs).max() ?? 0
        let delta = 1e-4 * (gradient.scalars.map(abs).max() ?? 0)
        var worst: Float = 0, worstIndex = 0, noisy = 0
        for i in 0..<a.count {
            let d = abs(a.pointer[i] - b.pointer[i])
            let g = abs(gradient.pointer[i])
            if g == 0 {
                // An exactly zero gradient (a class absent from the batch) must leave the weight exactly as it was.
                XCTAssertLessThanOrEqual(d, 1e-7 * max(1, abs(b.pointer[i])), "\(what)[\(i)]", file: file, line: line)
                continue
            }
            if g < max(1e-6, delta) { noisy += 1 }
            let allowed = max(1e-4 * scale, 1e-7) + 2 * Float(steps) * learningRate * min(1, delta / g)
            if d / allowed > worst { (worst, worstIndex) = (d / allowed, i) }
        }
        XCTAssertLessThanOrEqual(worst, 1, "step \(steps) \(what): element \(worstIndex) off by \(abs(a.pointer[worstIndex] - b.pointer[worstIndex])), "
                                 + "gradient \(gradient.pointer[worstIndex])", file: file, line: line)
        XCTAssertLessThanOrEqual(noisy, a.count / 20 + 1, "\(what): too many vanishing gradients for a meaningful check")
    }

    /// Two steps from the fixture's weights, once per convolution backend this machine can run.
    private func check(_ name: String) throws {
        try ConvolutionBackends.each { backend in try checkSteps(name, backend.rawValue) }
    }

    private func checkSteps(_ name: String, _ backend: String) throws {
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
            XCTAssertEqual(loss, try f.tensor("loss\(step)").pointer[0], accuracy: 1e-4 * loss, "\(backend): loss of step \(step)")
            try model.backward(grad)
            if step == 1 {
                for p in model.parameters { assertRelativelyClose(p.grad, try f.tensor("grad." + p.name), "\(backend): grad \(p.name)") }
            }
            adam.update(model.parameters)
            for (key, value) in model.stateDict().tensors {
                let expected = try f.tensor("after\(step).\(key)")
                if f.contains("grad." + key) {
                    try assertAdamUpdateClose(value, expected, gradient: try f.tensor("grad." + key), steps: step,
                                              learningRate: adam.learningRate, "\(backend): \(key)")
                } else {
                    assertRelativelyClose(value, expected, "\(backend): step \(step) \(key)")
                }
            }
        }
        XCTAssertEqual(model.stateDict().counters["in_block.first.norm.num_batches_tracked"], 9)
    }

    func testClassConditionedStepsMatchPyTorch() throws { try check("step_class_c1_d6_k3") }

    func testTimeOnlyThreeChannelStepsMatchPyTorch() throws { try check("step_time_c3_d4") }
}
