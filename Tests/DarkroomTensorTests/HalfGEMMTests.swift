import XCTest
@testable import DarkroomTensor
import DarkroomTestSupport

/// The 16-bit-weight linear equals the product in Double of the widened weights, in both kernels, for shapes that
/// leave partial tiles everywhere.
final class HalfGEMMTests: XCTestCase {
    func check(format: WeightTensor.HalfFormat, wide: Bool, rows: Int, outputs: Int, inputs: Int, accumulate: Bool) {
        var rng = RandomSource(seed: UInt64(rows * 7 + outputs))
        let x = rng.gaussian([rows, inputs]), w = rng.gaussian([outputs, inputs])
        let bits = (0..<(outputs * inputs)).map { i -> UInt16 in
            format == .bf16 ? UInt16(w.pointer[i].bitPattern >> 16) : Float16(w.pointer[i]).bitPattern
        }
        let widened = bits.map { format == .bf16 ? Float(bitPattern: UInt32($0) << 16) : Float(Float16(bitPattern: $0)) }
        let start = rng.gaussian([rows, outputs])
        let out = start.copy()
        bits.withUnsafeBufferPointer { b in
            HalfGEMM.multiply(x: x.pointer, rows: rows, weight: b.baseAddress!, format: format, outputs: outputs, inputs: inputs,
                              into: out.pointer, accumulate: accumulate, wide: wide)
        }
        var worst = 0.0
        for r in 0..<rows {
            for o in 0..<outputs {
                var sum = accumulate ? Double(start.pointer[r * outputs + o]) : 0
                for k in 0..<inputs { sum += Double(x.pointer[r * inputs + k]) * Double(widened[o * inputs + k]) }
                worst = max(worst, abs(sum - Double(out.pointer[r * outputs + o])))
            }
        }
        XCTAssertLessThan(worst, 1e-4 * Double(inputs).squareRoot(), "\(format) wide \(wide) \(rows)×\(outputs)×\(inputs) accumulate \(accumulate)")
    }

    func testBothKernelsMatchTheDoubleProductOnRaggedShapes() {
        let kernels = CPUFeatures.hasAVX512 ? [false, true] : [false]
        for wide in kernels {
            for (rows, outputs, inputs) in [(77, 203, 96), (1, 5, 3), (33, 97, 130), (16, 8, 64)] {
                check(format: .bf16, wide: wide, rows: rows, outputs: outputs, inputs: inputs, accumulate: false)
                check(format: .fp16, wide: wide, rows: rows, outputs: outputs, inputs: inputs, accumulate: true)
            }
        }
    }
}
