import Foundation
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor

/// A small convolutional classifier trained with the same engine, used to judge generated samples.
///
/// conv 3×3 (1→32) → conv 3×3 stride 2 (32→64) → conv 3×3 stride 2 (64→64), each with BatchNorm and GELU, then
/// 7×7 average pooling and a linear layer to the classes; trained with softmax cross-entropy and Adam.
public final class Classifier {
    public let classes: Int
    let convs: [TrainConv]
    let head: Parameter
    let headBias: Parameter
    private var pooledInput: Tensor?
    private var lastConvShape: [Int] = []

    public init(classes: Int, source: WeightReader) {
        self.classes = classes
        convs = [TrainConv(source, "conv1.", 1, 32, kind: .conv, kernel: 3, stride: 1, padding: 1),
                 TrainConv(source, "conv2.", 32, 64, kind: .conv, kernel: 3, stride: 2, padding: 1),
                 TrainConv(source, "conv3.", 64, 64, kind: .conv, kernel: 3, stride: 2, padding: 1)]
        head = Parameter("head.weight", source.take("head.weight", [classes, 64]).copy())
        headBias = Parameter("head.bias", source.take("head.bias", [classes]).copy())
    }

    var parameters: [Parameter] { convs.flatMap(\.parameters) + [head, headBias] }

    /// Logits [B, classes] for images [B,1,28,28] in [0, 1].
    public func logits(_ x: Tensor, training: Bool = false) throws -> Tensor {
        let pooled = try pooledFeatures(x, training: training)
        if training { pooledInput = pooled }
        return try Linear.forward(pooled, weight: head.value, bias: headBias.value)
    }

    /// The penultimate features [B, 64] (the pooled activations the linear head reads), for the Fréchet distance.
    public func features(_ x: Tensor) throws -> Tensor {
        var parts: [Tensor] = []
        var start = 0
        while start < x.shape[0] {
            let end = min(x.shape[0], start + 500)
            parts.append(try pooledFeatures(x.slice(batch: start..<end), training: false))
            start = end
        }
        return try Guidance.concatBatch(parts)
    }

    private func pooledFeatures(_ x: Tensor, training: Bool) throws -> Tensor {
        var h = x
        for c in convs { h = try c.forward(h, training: training) }
        lastConvShape = h.shape
        return try Pooling.averagePool(h, kernel: 7).reshaped([x.shape[0], 64])
    }

    /// Most likely class per image.
    public func predict(_ x: Tensor) throws -> [Int] {
        let l = try logits(x)
        return (0..<x.shape[0]).map { b in (0..<classes).max { l[b, $0] < l[b, $1] }! }
    }

    /// One Adam step of cross-entropy on a batch; returns the mean loss.
    func trainStep(_ x: Tensor, labels: [Int], adam: inout Adam) throws -> Float {
        for p in parameters { p.zeroGrad() }
        let l = try logits(x, training: true)
        let batch = labels.count
        let probabilities = Softmax.lastDimension(l)
        var loss: Float = 0
        let grad = probabilities.copy()
        for (b, label) in labels.enumerated() {
            loss -= logf(max(probabilities[b, label], 1e-12))
            grad[b, label] -= 1
        }
        Elementwise.affineInPlace(grad, scale: 1 / Float(batch), shift: 0)
        guard let pooled = pooledInput else { throw TrainingError.noForwardPass("classifier") }
        let dPooled = try Linear.backward(grad, x: pooled, weight: head.value, weightGrad: head.grad, biasGrad: headBias.grad)
        var g: Tensor? = Pooling.averagePoolBackward(dPooled.reshaped([batch, 64, 1, 1]), inputShape: lastConvShape, kernel: 7)
        for (i, c) in convs.enumerated().reversed() { g = try c.backward(g!, inputGrad: i > 0) }
        adam.update(parameters)
        return loss / Float(batch)
    }

    /// Trains on `data` for `epochs`, printing one line per epoch through `log`.
    public static func train(on data: Dataset, epochs: Int, seed: UInt64, log: (String) -> Void) throws -> Classifier {
        let model = Classifier(classes: data.classCount, source: WeightReader(randomSeed: seed))
        var adam = Adam(learningRate: 2e-3)
        let batch = 128
        for epoch in 0..<epochs {
            let order = data.shuffled(seed: seed &+ UInt64(epoch))
            var total: Float = 0
            let steps = data.count / batch
            for s in 0..<steps {
                let (x, labels) = data.batch(order[(s * batch)..<((s + 1) * batch)])
                total += try model.trainStep(x, labels: labels, adam: &adam)
            }
            adam.learningRate *= 0.5
            log(String(format: "classifier epoch %d/%d: mean loss %.4f", epoch + 1, epochs, total / Float(max(steps, 1))))
        }
        return model
    }

    /// Fraction of `data` classified correctly.
    public func accuracy(on data: Dataset) throws -> Double {
        var correct = 0
        var start = 0
        while start < data.count {
            let end = min(data.count, start + 500)
            let (x, labels) = data.batch(Array(start..<end)[...])
            correct += zip(try predict(x), labels).filter { $0 == $1 }.count
            start = end
        }
        return Double(correct) / Double(max(data.count, 1))
    }

    /// Saves weights and running statistics.
    public func save(to path: String) throws {
        var tensors: [String: Tensor] = [:]
        for p in parameters { tensors[p.name] = p.value }
        for c in convs { for (k, v) in c.buffers { tensors[k] = v } }
        try SafeTensorsWriter.write(tensors, metadata: ["classes": "\(classes)"], to: path)
    }

    /// Loads a classifier saved by `save`.
    public static func load(path: String) throws -> Classifier {
        let file = try SafeTensorsFile(path: path)
        guard let k = file.metadata["classes"].flatMap(Int.init) else { throw TrainingError.badCheckpoint("\(path): no class count") }
        let reader = WeightReader(file: file)
        let model = Classifier(classes: k, source: reader)
        try reader.finish()
        return model
    }
}
