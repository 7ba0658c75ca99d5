import ArgumentParser
import DarkroomModels
import DarkroomTensor
import Foundation

/// `darkroom forward`: one forward pass of a model on tensors from a safetensors file.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run a model once on tensors read from a safetensors file and write the result.",
        discussion: """
        For the small UNet, INPUT holds x [B,C,H,W], t [B,1] and, for class-conditioned models, c [B,K]; \
        OUTPUT receives out [B,C,H,W]. For a DeepFloyd IF stage I folder (diffusers format: the pipeline folder or its \
        unet/), INPUT holds sample [B,3,H,W], timestep [B] and encoder_hidden_states [B,77,E]; OUTPUT receives out \
        [B,6,H,W] (ε, then the variance value). For a stage II folder, sample is [B,6,H,W] (x_t, then the upscaled \
        image) and INPUT also holds class_labels [B] (the noise level); OUTPUT receives out [B,6,H,W].
        """
    )

    @Option(help: "Checkpoint folder: the small UNet (config.json + model.safetensors) or a diffusers IF stage I or II folder.")
    var model: String
    @Option(help: "safetensors file with the input tensors.")
    var input: String
    @Option(help: "safetensors file to write, holding 'out'.")
    var output: String
    @Option(help: "safetensors file holding the expected 'out': report the max absolute difference, fail above --tolerance.")
    var expect: String?
    @Option(help: "Largest accepted max absolute difference with --expect.")
    var tolerance: Float = 1e-4
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        let file = try SafeTensorsFile(path: input)
        let out: Tensor
        if IFUNet.isIFFolder(model) {
            try require(["sample", "timestep", "encoder_hidden_states"], in: file)
            let unet = try IFUNet(folder: model)
            if unet.config.hasClassEmbedding { try require(["class_labels"], in: file) }
            let sample = try file.tensor("sample")
            // A single timestep (or class label) is broadcast over the batch, as diffusers does.
            func perSample(_ name: String) throws -> [Float] {
                let t = try file.tensor(name)
                return t.count == 1 ? Array(repeating: t.pointer[0], count: sample.shape.first ?? 0) : t.scalars
            }
            let labels = unet.config.hasClassEmbedding ? try perSample("class_labels") : nil
            out = try unet.forward(sample, timesteps: try perSample("timestep"), classLabels: labels,
                                   encoderHiddenStates: try file.tensor("encoder_hidden_states"))
        } else {
            try require(["x", "t"], in: file)
            let unet = try TinyUNet(checkpoint: model)
            let c = file.contains("c") ? try file.tensor("c") : nil
            out = try unet.forward(try file.tensor("x"), t: try file.tensor("t"), c: c)
        }
        try SafeTensorsWriter.write(["out": out], to: output)
        print("wrote out \(out.shape) to \(output)")
        if let expect {
            let reference = try SafeTensorsFile(path: expect).tensor("out")
            guard reference.shape == out.shape else {
                throw ValidationError("\(expect): out is \(reference.shape), the model gave \(out.shape)")
            }
            var worst: Float = 0
            for i in 0..<out.count { worst = max(worst, abs(out.pointer[i] - reference.pointer[i])) }
            print("max |out - expected| = \(worst) (tolerance \(tolerance))")
            if !(worst <= tolerance) { throw ExitCode.failure }
        }
    }

    private func require(_ names: [String], in file: SafeTensorsFile) throws {
        for name in names where !file.contains(name) {
            throw ValidationError("\(input) has no tensor '\(name)' (found: \(file.names.joined(separator: ", ")))")
        }
    }
}
