/// A 3×3 convolution (stride 1, padding 1) by one of Winograd's algorithms, F(2×2, 3×3) or F(4×4, 3×3), whichever a
/// layer chose; both take [B,Ci,H,W] and give [B,Co,H,W].
public protocol WinogradConvolution: Sendable {
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

extension WinogradConv3x3: WinogradConvolution {}
extension Winograd4x4Conv3x3: WinogradConvolution {}
