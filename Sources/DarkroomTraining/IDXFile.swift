import CZlib
import Foundation

/// An IDX file (the MNIST family's format), gzipped or not: unsigned-byte data with its dimensions.
public struct IDXFile {
    /// Extent of every dimension (e.g. [60000, 28, 28] for images, [60000] for labels).
    public let dimensions: [Int]
    /// The values, row-major.
    public let bytes: [UInt8]

    /// Reads `path`; zlib's gz reader handles both compressed and plain files.
    public init(path: String) throws {
        guard let gz = gzopen(path, "rb") else { throw TrainingError.badData("\(path): cannot open") }
        defer { gzclose(gz) }
        func read(_ count: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let chunk = Int32(min(count - done, 1 << 30))
                let n = out.withUnsafeMutableBytes { gzread(gz, $0.baseAddress! + done, UInt32(chunk)) }
                if n <= 0 { throw TrainingError.badData("\(path): truncated (read \(done) of \(count) bytes)") }
                done += Int(n)
            }
            return out
        }
        let magic = try read(4)
        guard magic[0] == 0, magic[1] == 0 else { throw TrainingError.badData("\(path): not an IDX file (bad magic)") }
        guard magic[2] == 0x08 else { throw TrainingError.badData("\(path): only unsigned-byte IDX data is supported (type 0x\(String(magic[2], radix: 16)))") }
        let rank = Int(magic[3])
        guard rank >= 1, rank <= 4 else { throw TrainingError.badData("\(path): unsupported rank \(rank)") }
        let header = try read(4 * rank)
        dimensions = (0..<rank).map { i in
            (0..<4).reduce(0) { $0 << 8 | Int(header[4 * i + $1]) }
        }
        let total = dimensions.reduce(1, *)
        guard total <= 1 << 31 else { throw TrainingError.badData("\(path): \(dimensions) is implausibly large") }
        bytes = try read(total)
    }
}
