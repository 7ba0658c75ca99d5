import DarkroomTensor

/// What an edit produces: result images in [0, 1] with labels, comparison rows, and progress frames.
public struct EditOutput {
    /// One [C,H,W]-per-sample tensor [1,C,H,W] per result, in order (samples, noise levels or t values).
    public var images: [Tensor] = []
    /// A short label per result ("t=250", "level 5", "sample 2").
    public var labels: [String] = []
    /// Side-by-side comparisons (e.g. denoise: noisy | blur | one-step | iterative), each a list of labelled tiles.
    public var rows: [[(label: String, image: Tensor)]] = []
    /// Progress frames of x_t (and x̂₀ beside it), in [0, 1], oldest first; an upscaled job's go on at the larger size.
    public var frames: [(t: Double, xt: Tensor, x0: Tensor)] = []
    /// After an upscale: the images as stage I made them (`images` then holds the upscaled ones), in the same order.
    public var stageOne: [Tensor] = []
    /// Stage II progress frames of result `index` (x_t beside x̂₀, [1,C,H,W] in [0, 1]), oldest first.
    public var upscaleFrames: [(index: Int, t: Double, xt: Tensor, x0: Tensor)] = []

    public init() {}
}
