/// A denoiser whose prompts go through a text encoder: prompts are checked at intake without encoding, and encoded
/// (with progress) before sampling.
public protocol PromptEncoding: AnyObject {
    /// Notes on how the prompts will be read (a prompt past the encoder's length); throws for a prompt that cannot be had.
    func checkPrompts(_ prompts: [String]) throws -> [String]
    /// Encodes the prompts not known yet; returns those it encoded. `shouldStop` true between two encoder blocks
    /// throws `EncodingInterrupted`.
    func encodeMissing(_ prompts: [String], progress: ((EncodingProgress) -> Void)?, shouldStop: (() -> Bool)?) throws -> [String]
}
