import Foundation

/// Typed access to a JSON object's fields (sidecars, config.json) with errors that name the field.
public struct FieldReader {
    /// Throws for the first key (sorted) not in `known`, naming it (shortened) and listing the known ones.
    public static func checkKeys(_ object: [String: Any], known: Set<String>, field prefix: String? = nil, in file: String? = nil,
                                 noun: String = "key") throws {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            let name = JobError.quote(unknown)
            throw JobError(field: prefix.map { "\($0).\(name)" } ?? name,
                           (file.map { "\($0): " } ?? "") + "unknown \(noun) (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    public let object: [String: Any]
    public init(_ object: [String: Any]) { self.object = object }

    public func string(_ key: String) throws -> String? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw JobError(field: key, "must be a string") }
        return s
    }

    public func strings(_ key: String) throws -> [String]? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let a = v as? [Any], let s = a as? [String] else { throw JobError(field: key, "must be a list of strings") }
        return s
    }

    private func integer(_ v: Any, _ key: String) throws -> Int {
        guard let n = v as? NSNumber, !isBoolean(n), n.doubleValue == n.doubleValue.rounded(),
              abs(n.doubleValue) < 9.2e18 else {
            throw JobError(field: key, "must be an integer")
        }
        return n.intValue
    }

    public func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        let i = try integer(v, key)
        guard range.contains(i) else { throw JobError(field: key, "must be in \(range.lowerBound)…\(range.upperBound), got \(i)") }
        return i
    }

    public func ints(_ key: String, in range: ClosedRange<Int>, allowScalar: Bool = false, maxCount: Int = .max) throws -> [Int]? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        let items: [Any]
        if let a = v as? [Any] { items = a } else if allowScalar { items = [v] } else { throw JobError(field: key, "must be a list of integers") }
        guard !items.isEmpty else { throw JobError(field: key, "must not be empty") }
        guard items.count <= maxCount else {
            throw JobError(field: key, "has \(items.count) entries; the limit is \(maxCount)")
        }
        return try items.map { item in
            let i = try integer(item, key)
            guard range.contains(i) else { throw JobError(field: key, "values must be in \(range.lowerBound)…\(range.upperBound), got \(i)") }
            return i
        }
    }

    /// A number or a list of numbers, each in `range`.
    public func doubles(_ key: String, in range: ClosedRange<Double>, maxCount: Int = .max) throws -> [Double]? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        let items = (v as? [Any]) ?? [v]
        guard !items.isEmpty else { throw JobError(field: key, "must not be empty") }
        guard items.count <= maxCount else { throw JobError(field: key, "has \(items.count) entries; the limit is \(maxCount)") }
        return try items.map { item in
            guard let n = item as? NSNumber, !isBoolean(n) else { throw JobError(field: key, "must be a number or a list of numbers") }
            let d = n.doubleValue
            guard d.isFinite, range.contains(d) else { throw JobError(field: key, "values must be in \(range.lowerBound)…\(range.upperBound), got \(d)") }
            return d
        }
    }

    public func double(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !isBoolean(n) else { throw JobError(field: key, "must be a number") }
        let d = n.doubleValue
        guard d.isFinite, range.contains(d) else { throw JobError(field: key, "must be in \(range.lowerBound)…\(range.upperBound), got \(d)") }
        return d
    }

    /// A JSON true or false.
    public func bool(_ key: String) throws -> Bool? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, isBoolean(n) else { throw JobError(field: key, "must be true or false") }
        return n.boolValue
    }

    /// JSON true/false arrive as NSNumber too; their Objective-C type code is "c".
    private func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
}
