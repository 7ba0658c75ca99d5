import Foundation

/// One random drop of the intake fuzz: a sidecar (or something in its place) and the files it names, under random
/// names, kinds and contents. Paths are relative to the inbox; "OUTSIDE" in a link target is the sentinel folder.
struct FuzzCase {
    enum Kind {
        case regular(Data)
        case link(String)
        case fifo
        case folder
    }
    struct File {
        var path: String
        var kind: Kind
    }

    let files: [File]

    init(k: Int, round: Int, rng: inout IntakeFuzzTests.SplitMix, shared: inout [Data], png: (UInt64) throws -> Data) rethrows {
        let stem = "c\(round)-\(k)"
        var files: [File] = []
        // Some drops are the same content under another name: the first is a job, the others duplicates.
        if rng.chance(0.1) {
            files.append(File(path: "\(stem)-a.png", kind: .regular(shared[0])))
            files.append(File(path: "\(stem)-a.json", kind: .regular(Data(#"{"mode": "noise", "t": [10]}"#.utf8))))
            self.files = files
            return
        }
        let name: String = {
            switch rng.int(20) {
            case 0: return String(repeating: "ü", count: 97 + rng.int(28)) + "\(k % 10).json"   // 200–255 bytes
            case 1: return "with space \(stem).json"
            case 2: return ".\(stem).json"
            case 3: return "\(stem).json.part"
            case 4: return "\(stem).txt"
            case 5: return "\(stem).error.json"
            default: return "\(stem).json"
            }
        }()
        let sidecarStem = (name as NSString).deletingPathExtension
        // The sidecar itself.
        switch rng.int(20) {
        case 0: files.append(File(path: name, kind: .link(rng.pick(["OUTSIDE/j.json", "OUTSIDE/deep", "/etc/hostname", "missing"]))))
        case 1: files.append(File(path: name, kind: .fifo))
        case 2: files.append(File(path: name, kind: .folder))
        case 3:
            let garbage = [Data(), Data("{".utf8), Data("[1, 2]".utf8), Data("null".utf8), Data((0..<64).map { _ in UInt8(rng.int(256)) })]
            files.append(File(path: name, kind: .regular(rng.pick(garbage))))
        default: break
        }
        if !files.isEmpty {
            if rng.chance(0.5) { files.append(File(path: sidecarStem + ".png", kind: .regular(try png(UInt64(k + 1000 * round))))) }
            self.files = files
            return
        }
        var object: [String: Any] = [:]
        let modes = ["generate", "noise", "denoise", "sdedit", "inpaint", "anagram", "hybrid", "paint"]
        let mode: String? = rng.chance(0.1) ? nil : rng.pick(modes)
        if let mode { object["mode"] = mode }
        let prompts = ["a cat", "a dog", "", "a bird", String(repeating: "z", count: 2_000)]
        if rng.chance(0.6) { object["prompt"] = rng.pick(prompts) }
        if mode == "anagram" || mode == "hybrid" || rng.chance(0.05) { object["prompts"] = [rng.pick(prompts), rng.pick(prompts)] }
        if mode == "sdedit" {
            switch rng.int(4) {
            case 0: object["noise_levels"] = [1, 0]
            case 1: object["strength"] = rng.pick([0.5, 0.0, 2.0])
            case 2: object["noise_level"] = rng.pick([0, 1, 5, 10_000])
            default: break
            }
        }
        if mode == "noise" || mode == "denoise" || rng.chance(0.05) {
            object["t"] = rng.pick([[10] as Any, [10, 100] as Any, 20 as Any, [0] as Any, [400] as Any, Array(repeating: 5, count: 100) as Any])
        }
        if rng.chance(0.3) { object["seed"] = rng.pick([1, 2, -1, 3] as [Any]) }
        if rng.chance(0.3) { object["count"] = rng.pick([1, 2, 3, 0, 100, "2"] as [Any]) }
        if rng.chance(0.1) { object["view"] = rng.pick(["flip", "negate", "sideways"]) }
        if rng.chance(0.1) { object["guidance"] = rng.pick([5, -1, 1e300, "x"] as [Any]) }
        if rng.chance(0.1) { object["stride"] = rng.pick([150, 299, 1000, 0] as [Any]) }
        if rng.chance(0.1) { object["model"] = rng.pick(["tiny", "nope"]) }
        if rng.chance(0.05) { object["colour"] = "red" }
        // The image and the mask: named or implied, in many shapes, and the files behind the names.
        let paths = ["\(stem)-img.png", "sub/\(stem)-img.png", "ld/x.png", "\u{0}", "", ".", "rejected", "duplicates", "../x.png",
                     "/etc/hostname", "\(stem)-other.json", ".\(stem)-hid.png", "shared.png", "sub", "ld"]
        var needs: [(field: String, path: String)] = []
        let takesImage = ["noise", "denoise", "sdedit", "inpaint"].contains(mode ?? "")
        if takesImage || rng.chance(0.05) {
            if rng.chance(0.3) { needs.append(("image", sidecarStem + ".png")) } else {
                let p = rng.pick(paths)
                object["image"] = p
                needs.append(("image", p))
            }
        }
        if mode == "inpaint" || rng.chance(0.03) {
            let p = rng.chance(0.7) ? "\(stem)-mask.png" : rng.pick(paths)
            object["mask"] = p
            needs.append(("mask", p))
        }
        var text = String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        if rng.chance(0.03) { text = text.replacingOccurrences(of: "{", with: #"{"noise_level": 1e400, "#, options: [], range: text.range(of: "{")) }
        files.append(File(path: name, kind: .regular(Data(text.utf8))))
        for need in needs where !need.path.isEmpty && !need.path.contains("\u{0}") && !need.path.hasPrefix("/")
            && !need.path.contains("..") && !["ld/x.png", ".", "rejected", "duplicates", "sub", "ld"].contains(need.path) {
            switch rng.int(20) {
            case 0: files.append(File(path: need.path, kind: .link("OUTSIDE/x.png")))
            case 1: files.append(File(path: need.path, kind: .fifo))
            case 2: files.append(File(path: need.path, kind: .folder))
            case 3: break  // missing
            case 4: files.append(File(path: need.path, kind: .regular(Data("not a png".utf8))))
            case 5: files.append(File(path: need.path, kind: .regular(shared[0])))
            default: files.append(File(path: need.path, kind: .regular(try png(UInt64(k * 7 + round * 1000 + files.count)))))
            }
        }
        if rng.chance(0.05) { files.append(File(path: "\(stem)-orphan.png", kind: .regular(try png(UInt64(k + 50_000))))) }
        // Files before the sidecar: the sidecar is the commit marker.
        self.files = files.filter { $0.path != name } + files.filter { $0.path == name }
    }
}
