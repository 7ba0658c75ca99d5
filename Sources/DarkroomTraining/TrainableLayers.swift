import DarkroomModels
import DarkroomTensor

/// Where a layer gets its initial tensors: a checkpoint (through `WeightReader`) or seeded random values.
typealias Source = WeightReader

/// Conv or transposed conv → BatchNorm2d → GELU, with caches for the backward pass (BatchNorm and GELU run as one
/// pass each way).
final class TrainConv {
    enum Kind { case conv, transposed }
    let kind: Kind
    let stride: Int, padding: Int
    let weight, bias, gamma, beta: Parameter
    let runningMean, runningVariance: Tensor
    var batchesTracked: Int64 = 0
    private var input: Tensor?
    private var normCache: BatchNormTraining.Cache?

    init(_ r: Source, _ prefix: String, _ i: Int, _ o: Int, kind: Kind, kernel: Int, stride: Int, padding: Int) {
        self.kind = kind
        self.stride = stride
        self.padding = padding
        let shape = kind == .conv ? [o, i, kernel, kernel] : [i, o, kernel, kernel]
        weight = Parameter(prefix + "conv.weight", r.take(prefix + "conv.weight", shape).copy())
        bias = Parameter(prefix + "conv.bias", r.take(prefix + "conv.bias", [o]).copy())
        gamma = Parameter(prefix + "norm.weight", r.take(prefix + "norm.weight", [o]).copy())
        beta = Parameter(prefix + "norm.bias", r.take(prefix + "norm.bias", [o]).copy())
        runningMean = r.take(prefix + "norm.running_mean", [o]).copy()
        runningVariance = r.take(prefix + "norm.running_var", [o]).copy()
        self.prefix = prefix
    }

    let prefix: String
    /// The trained tensors. The conv bias is not among them: the BatchNorm after it removes any constant per
    /// channel, so its exact gradient is zero and Adam would only amplify rounding noise; it stays as loaded.
    var parameters: [Parameter] { [weight, gamma, beta] }
    var buffers: [String: Tensor] {
        [prefix + "norm.running_mean": runningMean, prefix + "norm.running_var": runningVariance, prefix + "conv.bias": bias.value]
    }

    func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let y: Tensor
        switch kind {
        case .conv: y = try Conv2d.forward(x, weight: weight.value, bias: bias.value, stride: stride, padding: padding)
        case .transposed: y = try ConvTranspose2d.forward(x, weight: weight.value, bias: bias.value, stride: stride, padding: padding)
        }
        if training {
            let (out, cache) = try BatchNormTraining.forward(y, weight: gamma.value, bias: beta.value, runningMean: runningMean,
                                                             runningVariance: runningVariance, gelu: true)
            batchesTracked += 1
            normCache = cache
            input = x
            return out
        }
        try Normalization.batchNormInPlace(y, mean: runningMean, variance: runningVariance, weight: gamma.value, bias: beta.value)
        Activation.geluInPlace(y)
        return y
    }

    func backward(_ dy: Tensor, inputGrad: Bool = true) throws -> Tensor? {
        guard let x = input, let cache = normCache else {
            throw TrainingError.noForwardPass(prefix)
        }
        let dConv = BatchNormTraining.backwardGELU(dy, cache: cache, weight: gamma.value, bias: beta.value,
                                                   weightGrad: gamma.grad, biasGrad: beta.grad)
        input = nil; normCache = nil
        switch kind {
        case .conv:
            return try Conv2d.backward(dConv, x: x, weight: weight.value, stride: stride, padding: padding,
                                       weightGrad: weight.grad, biasGrad: nil, inputGrad: inputGrad)
        case .transposed:
            return try ConvTranspose2d.backward(dConv, x: x, weight: weight.value, stride: stride, padding: padding,
                                                weightGrad: weight.grad, biasGrad: nil)
        }
    }
}

/// Two convs in a row (`first.*`, `second.*`), or a resampling conv then a ConvBlock (`down.*`/`up.*`, `block.*`).
final class TrainSequence {
    let layers: [TrainConv]
    init(_ layers: [TrainConv]) { self.layers = layers }

    static func convBlock(_ r: Source, _ p: String, _ i: Int, _ o: Int) -> [TrainConv] {
        [TrainConv(r, p + "first.", i, o, kind: .conv, kernel: 3, stride: 1, padding: 1),
         TrainConv(r, p + "second.", o, o, kind: .conv, kernel: 3, stride: 1, padding: 1)]
    }

    static func block(_ r: Source, _ p: String, _ i: Int, _ o: Int) -> TrainSequence { TrainSequence(convBlock(r, p, i, o)) }

    static func down(_ r: Source, _ p: String, _ i: Int, _ o: Int) -> TrainSequence {
        TrainSequence([TrainConv(r, p + "down.", i, o, kind: .conv, kernel: 3, stride: 2, padding: 1)] + convBlock(r, p + "block.", o, o))
    }

    static func up(_ r: Source, _ p: String, _ i: Int, _ o: Int) -> TrainSequence {
        TrainSequence([TrainConv(r, p + "up.", i, o, kind: .transposed, kernel: 4, stride: 2, padding: 1)] + convBlock(r, p + "block.", o, o))
    }

    func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        var h = x
        for l in layers { h = try l.forward(h, training: training) }
        return h
    }

    func backward(_ dy: Tensor, inputGrad: Bool = true) throws -> Tensor? {
        var g: Tensor? = dy
        for (i, l) in layers.enumerated().reversed() {
            g = try l.backward(g!, inputGrad: inputGrad || i > 0)
        }
        return g
    }
}

/// Linear → GELU → Linear (`fc1.*`, `fc2.*`).
final class TrainFC {
    let w1, b1, w2, b2: Parameter
    private var input: Tensor?
    private var hidden: Tensor?

    init(_ r: Source, _ p: String, _ i: Int, _ o: Int) {
        w1 = Parameter(p + "fc1.weight", r.take(p + "fc1.weight", [o, i]).copy())
        b1 = Parameter(p + "fc1.bias", r.take(p + "fc1.bias", [o]).copy())
        w2 = Parameter(p + "fc2.weight", r.take(p + "fc2.weight", [o, o]).copy())
        b2 = Parameter(p + "fc2.bias", r.take(p + "fc2.bias", [o]).copy())
    }

    var parameters: [Parameter] { [w1, b1, w2, b2] }

    func forward(_ x: Tensor) throws -> Tensor {
        let h = try Linear.forward(x, weight: w1.value, bias: b1.value)
        input = x
        hidden = h
        return try Linear.forward(Activation.gelu(h), weight: w2.value, bias: b2.value)
    }

    func backward(_ dy: Tensor) throws {
        guard let x = input, let h = hidden else { throw TrainingError.noForwardPass("fc") }
        let dg = try Linear.backward(dy, x: Activation.gelu(h), weight: w2.value, weightGrad: w2.grad, biasGrad: b2.grad)
        let dh = Activation.geluBackward(dg, input: h)
        _ = try Linear.backward(dh, x: x, weight: w1.value, weightGrad: w1.grad, biasGrad: b1.grad)
        input = nil; hidden = nil
    }
}

/// Errors of the training engine.
public enum TrainingError: Error, CustomStringConvertible {
    case noForwardPass(String)
    case badData(String)
    case badCheckpoint(String)

    public var description: String {
        switch self {
        case .noForwardPass(let layer): return "backward pass through \(layer) without a training forward pass"
        case .badData(let message): return message
        case .badCheckpoint(let message): return message
        }
    }
}
