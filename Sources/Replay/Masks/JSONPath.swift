import Foundation

/// A field of a JSON document, in the simplest part of JSONPath's syntax:
/// `$.nonce`, `$.items[*].id`, `$.items[0]`, `$["a key"]`. `[*]` stands
/// for every element of an array.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        case field(String)
        case index(Int)
        case anyIndex
    }

    public var steps: [Step]

    public init(_ steps: [Step]) {
        self.steps = steps
    }

    /// Parses `$` followed by `.name`, `["name"]`, `[N]` and `[*]` steps;
    /// the error says what is wrong where.
    public init(parsing text: String) throws(MaskError) {
        var rest = Substring(text)
        guard rest.popFirst() == "$" else { throw MaskError("'\(text)' does not start with $") }
        var steps: [Step] = []
        while let first = rest.first {
            if first == "." {
                rest.removeFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { throw MaskError("'\(text)' has an empty field name after a dot") }
                steps.append(.field(String(name)))
                rest = rest.dropFirst(name.count)
            } else if first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw MaskError("'\(text)' has a [ without its ]") }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                if inside == "*" {
                    steps.append(.anyIndex)
                } else if let index = Int(inside), index >= 0 {
                    steps.append(.index(index))
                } else if inside.count >= 2, inside.first == "\"", inside.last == "\"",
                    let name = try? JSONQuoting.string(String(inside))
                {
                    steps.append(.field(name))
                } else {
                    throw MaskError("'\(text)': [\(inside)] is not [*], [N] or [\"name\"]")
                }
                rest = rest[rest.index(after: close)...]
            } else {
                throw MaskError("'\(text)': expected . or [ at '\(rest.prefix(10))'")
            }
        }
        self.steps = steps
    }

    public var description: String {
        "$" + steps.map { step in
            switch step {
            case .field(let name) where Self.isPlain(name): return "." + name
            case .field(let name): return "[" + JSONQuoting.quoted(name) + "]"
            case .index(let index): return "[\(index)]"
            case .anyIndex: return "[*]"
            }
        }.joined()
    }

    /// The same path with every array index as `[*]`: a field that varies
    /// in one element of a list varies in the others too.
    public var generalized: JSONPath {
        JSONPath(steps.map { if case .index = $0 { return .anyIndex } else { return $0 } })
    }

    private static func isPlain(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }
}

/// Quoting names the way JSON does.
enum JSONQuoting {
    static func string(_ quoted: String) throws -> String {
        guard case .string(let text) = try JSONDecoder().decode(JSONValue.self, from: Data(quoted.utf8)) else { throw MaskError("not a string") }
        return text
    }

    static func quoted(_ name: String) -> String {
        String(decoding: JSONValue.string(name).canonicalBytes, as: UTF8.self)
    }
}

extension JSONValue {
    /// The document without the fields `paths` name: object fields are
    /// taken out, array elements set to null (so the others keep their places).
    func removing(_ paths: [JSONPath]) -> JSONValue {
        paths.reduce(self) { $0.removing($1.steps[...]) }
    }

    private func removing(_ steps: ArraySlice<JSONPath.Step>) -> JSONValue {
        guard let step = steps.first else { return self }
        let rest = steps.dropFirst()
        switch (step, self) {
        case (.field(let name), .object(var fields)):
            guard let value = fields[name] else { return self }
            fields[name] = rest.isEmpty ? nil : value.removing(rest)
            return .object(fields)
        case (.index(let index), .array(var items)):
            guard items.indices.contains(index) else { return self }
            items[index] = rest.isEmpty ? .null : items[index].removing(rest)
            return .array(items)
        case (.anyIndex, .array(let items)):
            return .array(items.map { rest.isEmpty ? .null : $0.removing(rest) })
        default:
            return self
        }
    }

    /// Where this document and `other` differ, deepest first-found, in key
    /// order: a field in one only, a value of another type or another value,
    /// an array of another length. At most `limit`.
    func differences(from other: JSONValue, limit: Int = 20) -> [(path: JSONPath, mine: JSONValue?, theirs: JSONValue?)] {
        var found: [(path: JSONPath, mine: JSONValue?, theirs: JSONValue?)] = []
        func walk(_ mine: JSONValue?, _ theirs: JSONValue?, _ path: [JSONPath.Step]) {
            guard found.count < limit, mine != theirs else { return }
            switch (mine, theirs) {
            case (.object(let a)?, .object(let b)?):
                for name in Set(a.keys).union(b.keys).sorted() { walk(a[name], b[name], path + [.field(name)]) }
            case (.array(let a)?, .array(let b)?) where a.count == b.count:
                for index in a.indices { walk(a[index], b[index], path + [.index(index)]) }
            default:
                found.append((JSONPath(path), mine, theirs))
            }
        }
        walk(self, other, [])
        return found
    }
}
