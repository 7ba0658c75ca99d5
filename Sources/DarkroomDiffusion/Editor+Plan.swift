import DarkroomJobModel
/// What a run will do before it starts: how many sampler steps in all, and where SDEdit starts.
extension Editor {
    /// Sampler steps a run of `r` takes in all (one progress call each), so a job can report step k of N and an ETA.
    public func plannedSteps(_ r: EditRequest) -> Int {
        let stepsOfFlow = max(r.steps ?? 50, 1)
        switch r.mode {
        case .noise:
            return 0
        case .generate:
            return denoiser.prediction == .flow ? stepsOfFlow : fullTimesteps(r).count - 1
        case .inpaint, .anagram, .hybrid:
            return fullTimesteps(r).count - 1
        case .denoise:
            if denoiser.prediction == .cleanImage { return 0 }
            return r.t.map { denoiser.schedule.stridedTimesteps(from: $0, stride: r.stride).count - 1 }.reduce(0, +)
        case .sdedit:
            if denoiser.prediction == .flow {
                return flowStrengths(r).map { max(1, Int($0 * Double(stepsOfFlow))) }.reduce(0, +)
            }
            let count = fullTimesteps(r).count
            return ((try? sdeditLevels(r)) ?? []).map { count - 1 - $0 }.reduce(0, +)
        }
    }

    /// SDEdit's starting indices into the strided timesteps: the request's levels, or its strength (diffusers'
    /// img2img strength, default 0.6) turned into one level through the schedule.
    public func sdeditLevels(_ r: EditRequest) throws -> [Int] {
        if !r.noiseLevels.isEmpty { return r.noiseLevels }
        let count = fullTimesteps(r).count
        let s = r.strength ?? 0.6
        guard s > 0, s <= 1 else { throw DiffusionError.invalidRequest("strength must be in (0, 1], got \(s)") }
        return [max(0, count - 1 - Int((s * Double(count - 1)).rounded()))]
    }

    /// A flow model's SDEdit strengths: the request's, or its levels as fractions of the steps.
    func flowStrengths(_ r: EditRequest) -> [Double] {
        r.noiseLevels.isEmpty ? [r.strength ?? 0.6] : r.noiseLevels.map { 1 - Double($0) / Double(r.steps ?? 50) }
    }
}
