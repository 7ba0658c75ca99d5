import ArgumentParser
import DarkroomJobs
import DarkroomModels
import DarkroomTensor
import DarkroomText
import Foundation

/// `darkroom encode`: DeepFloyd IF prompt embeddings from the model's own T5, without Python.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode prompts with a DeepFloyd IF model's T5 into a prompt-embeddings file.",
        discussion: """
        MODEL is a model name from the config file or a folder holding tokenizer/ (spiece.model) and text_encoder/ \
        (config.json and weights: model.safetensors, shards with model.safetensors.index.json, or their .fp16 / .bf16 \
        variants; fp32, fp16 or bf16), with or without unet/. Each prompt is read as the IF pipeline reads it (lowercased, \
        stripped, 77 tokens) and written as a tensor [77, d_model] named by that text; "" (the unconditional \
        embedding) is always included. The file is the format of the `prompt_embeddings` file config.json may name.
        """
    )

    @Option(help: "A model name from the config file, or a folder holding tokenizer/ and text_encoder/.")
    var model: String
    @Option(help: "safetensors file to write (required unless --tokens).")
    var output: String?
    @Flag(help: "Keep the embeddings already in --output and encode only the prompts it lacks.")
    var append = false
    @Flag(help: "Print each prompt's token ids and pieces.")
    var tokens = false
    @Option(help: "Config file, for a model given by name.")
    var config = "config.json"
    @Argument(help: "Prompts to encode.")
    var prompts: [String] = []
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        let location = try locate()
        let keys = Array(NSOrderedSet(array: [""] + prompts.map(PromptEmbeddings.normalized))) as! [String]
        if tokens {
            let tokenizer = try location.loadTokenizer()
            for key in keys {
                let (ids, count, truncated) = T5TextEncoder.tokens(key, tokenizer: tokenizer)
                let pieces = ids.prefix(count).map { tokenizer.piece($0) }
                print("\"\(key)\": \(count) tokens\(truncated ? " (truncated to 77, as the IF pipeline does)" : "")")
                print("  ids    \(ids.prefix(count).map(String.init).joined(separator: " "))")
                print("  pieces \(pieces.joined(separator: " "))")
            }
        }
        guard let output else {
            if tokens { return }
            throw ValidationError("--output is required (or --tokens to print token ids only)")
        }
        var tensors: [String: Tensor] = [:]
        var existingEncoder: String?
        if append, FileManager.default.fileExists(atPath: output) {
            let existing = try SafeTensorsFile(path: output)
            existingEncoder = existing.metadata["encoder"]
            for name in existing.names { tensors[PromptEmbeddings.normalized(name)] = try existing.tensor(name).copy() }
        }
        let todo = keys.filter { tensors[$0] == nil }
        let started = Date()
        if !todo.isEmpty {
            let t5 = try T5TextEncoder(location)
            let identity = try location.identity()
            // One file, one encoder: appending another encoder's embeddings would mix them under one name.
            if let existingEncoder, existingEncoder != identity {
                throw ValidationError("\(output) holds embeddings of encoder \(existingEncoder); this model's is \(identity). Write a new file.")
            }
            if let bad = tensors.first(where: { $0.value.shape.last != t5.encoder.config.dModel }) {
                throw ValidationError("\(output): '\(bad.key)' is \(bad.value.shape), this encoder gives width \(t5.encoder.config.dModel). Write a new file.")
            }
            let c = t5.encoder.config
            log("T5 encoder: d_model \(c.dModel), \(c.layers) blocks, \(t5.encoder.isHalf ? "16-bit" : "fp32") weights from \(t5.encoder.path)")
            for (i, key) in todo.enumerated() {
                let clock = Date()
                let embedding = try t5.embed(key) { done, total in
                    progress("encoding \(i + 1)/\(todo.count) \"\(key.prefix(40))\": block \(done)/\(total)")
                }
                tensors[key] = embedding
                finishProgress()
                log("encoded \(i + 1)/\(todo.count) \"\(key.prefix(60))\" in \(String(format: "%.2f", Date().timeIntervalSince(clock))) s")
            }
            try SafeTensorsWriter.write(tensors, metadata: ["encoder": identity], to: output)
        } else if !append || !FileManager.default.fileExists(atPath: output) {
            throw ValidationError("nothing to encode")
        }
        log("wrote \(tensors.count) embeddings to \(output) (\(todo.count) new, \(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
    }

    /// The text side of `--model`: a folder, or a config model's folder with its options.
    private func locate() throws -> T5TextEncoder.Location {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isFolder), isFolder.boolValue {
            guard let found = T5TextEncoder.Location.find(in: model) else {
                throw ValidationError("\(model) holds no tokenizer/spiece.model and text_encoder/config.json")
            }
            return found
        }
        let cfg = try DarkroomConfig.load(path: config, checkFolders: false)
        let (name, folder) = try cfg.modelPath(model)
        let options = cfg.options(forModel: name)
        guard let found = T5TextEncoder.Location.find(in: folder, tokenizer: options.tokenizer, encoder: options.textEncoder) else {
            throw ValidationError("model '\(name)' (\(folder)) has no tokenizer/ and text_encoder/; name them with \"tokenizer\" and \"text_encoder\" in its config.json entry")
        }
        return found
    }

    private var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }
    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    private func progress(_ line: String) {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
    }
    private func finishProgress() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
