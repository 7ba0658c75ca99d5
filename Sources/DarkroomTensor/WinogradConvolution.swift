/// A 3×3 convolution (stride 1, padding 1) by one of Winograd's algorithms, F(2×2, 3×3) or F(4×4, 3×3), whichever a
/// layer chose; both take [B,Ci,H,W] and give [B,Co,H,W].
public protocol WinogradConvolution: Sendable {
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

extension WinogradConv3x3: WinogradConvolution {}
extension Winograd4x4Conv3x3: WinogradConvolution {}

/// A Winograd convolution's weights [Co,Ci,3,3]: transformed once and kept (`resident`), or kept as stored (half
/// precision stays half) and transformed at every call into a per-thread buffer (streamed). Either way the
/// convolution sees `elements` matrices [Co, Ci], one per element of its input tile.
// @unchecked Sendable: written once at construction and only read afterwards.
struct WinogradWeights: @unchecked Sendable {
    /// The kept transform; nil when streamed.
    let resident: Tensor?
    /// The stored weight a streamed convolution transforms at every call.
    let source: WeightTensor?
    let outputs: Int
    let inputs: Int
    /// Matrices of the transform: 16 for F(2×2), 36 for F(4×4).
    let elements: Int
    /// U for `pairs` = Co·Ci kernels at the first pointer into the second [elements, Co·Ci].
    let transform: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void

    /// Transforms `weight` once and keeps the result.
    init(weight: Tensor, bias: Tensor?, elements: Int, transform: @escaping (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) throws {
        try WinogradWeights.check(weight.shape, bias)
        (outputs, inputs, self.elements, self.transform) = (weight.shape[0], weight.shape[1], elements, transform)
        let u = Tensor(uninitialized: [elements, outputs, inputs])
        transform(weight.pointer, outputs * inputs, u.pointer)
        resident = u
        source = nil
    }

    /// Keeps `weight` as stored and transforms it at every call.
    init(streaming weight: WeightTensor, bias: Tensor?, elements: Int,
         transform: @escaping (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) throws {
        try WinogradWeights.check(weight.shape, bias)
        (outputs, inputs, self.elements, self.transform) = (weight.shape[0], weight.shape[1], elements, transform)
        resident = nil
        source = weight
    }

    private static func check(_ shape: [Int], _ bias: Tensor?) throws {
        guard shape.count == 4, shape[2] == 3, shape[3] == 3 else {
            throw TensorError.shapeMismatch("Winograd 3x3 convolution with weight \(shape)")
        }
        if let bias, bias.count != shape[0] { throw TensorError.shapeMismatch("conv bias \(bias.shape) for \(shape)") }
    }

    /// Runs `body` with the transformed weights: the kept ones, or this thread's buffer freshly filled from the stored
    /// weight (valid only during `body`).
    func withTransformed<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        if let resident { return try body(resident.pointer) }
        let u = ScratchBuffer.forCurrentThread(count: elements * outputs * inputs, slot: .winogradWeights)
        source!.withFloat { w in transform(w.pointer, outputs * inputs, u.pointer) }
        return try body(u.pointer)
    }
}
