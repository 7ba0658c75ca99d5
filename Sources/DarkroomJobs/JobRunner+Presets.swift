import Foundation
import DarkroomJobModel
import DarkroomSupport

extension JobRunner {
    /// Checks every preset against its model as intake checks a sidecar (a stride the model cannot take, a noise
    /// level past its schedule, a prompt it does not know), so that a bad preset stops the start instead of rejecting
    /// every drop. The prompts a preset leaves to its prompt files are checked per line at intake. Errors name the
    /// preset and the key.
    public func checkPresets() throws {
        for name in config.presets.keys.sorted() {
            let preset = config.presets[name]!
            let s = preset.sidecar
            let hasPrompts = s.takesTwoPrompts ? s.prompts != nil : s.prompt != nil || s.takesImage
            do {
                let model = try config.modelPath(s.model).name
                _ = try resolve(s, for: try denoiser(model), model: model, checkPrompts: hasPrompts)
            } catch let e as JobError {
                throw JobError(field: "presets.\(JobError.quote(name))" + (e.field.map { ".\($0)" } ?? ""), "\(config.path): \(e.message)")
            }
        }
    }
}
