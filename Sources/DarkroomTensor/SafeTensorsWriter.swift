import Foundation
import DarkroomSupport

/// Writes Float32 tensors to a safetensors file (header padded to 8 bytes, names sorted).
public enum SafeTensorsWriter {
    /// Writes `tensors` (F32), `integers` (I64 scalars, such as BatchNorm's `num_batches_tracked`) and optional
    /// string `metadata` to `path`, through a temporary file renamed into place.
    public static func write(
        _ tensors: [String: Tensor], integers: [String: Int64] = [:], metadata: [String: String] = [:], to path: String
    ) throws {
        let names = tensors.keys.sorted()
        let integerNames = integers.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        for name in integerNames {
            header[name] = ["dtype": "I64", "shape": [Int](), "data_offsets": [offset, offset + 8]]
            offset += 8
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            let t = tensors[name]!
            data.append(UnsafeBufferPointer(start: t.pointer, count: t.count))
        }
        for name in integerNames {
            var v = integers[name]!.littleEndian
            withUnsafeBytes(of: &v) { data.append(contentsOf: $0) }
        }
        try AtomicFile.write(data, to: path)
    }
}
