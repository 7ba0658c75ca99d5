// DarkroomTraining: trains the small UNet from scratch (backward passes, Adam, IDX data, objectives, checkpoints).
import DarkroomTensor

/// A trainable tensor with its gradient and Adam moments, named as in the PyTorch state dict.
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let grad: Tensor
    /// Adam's first and second moment estimates.
    public let firstMoment: Tensor
    public let secondMoment: Tensor

    public init(_ name: String, _ value: Tensor) {
        self.name = name
        self.value = value
        grad = Tensor(zeros: value.shape)
        firstMoment = Tensor(zeros: value.shape)
        secondMoment = Tensor(zeros: value.shape)
    }

    /// Sets the gradient to zero.
    public func zeroGrad() { grad.pointer.update(repeating: 0, count: grad.count) }
}
