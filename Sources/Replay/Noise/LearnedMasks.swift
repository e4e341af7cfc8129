/// Masks being learned, without repeats, with what each was learned from.
struct LearnedMasks {
    var masks = Masks()
    private var order: [String] = []
    private var found: [String: NoiseReport.Finding] = [:]

    var findings: [NoiseReport.Finding] { order.compactMap { found[$0] } }

    /// Adds the masks `variation` calls for; false when no mask can hide it.
    /// `seen` holds the masks already counted for this pair.
    mutating func learn(_ variation: Variation, example: String, seen: inout Set<String>) -> Bool {
        switch variation {
        case .httpHeader(let name, _, _):
            note("header \(name.lowercased())", display: "header \(name)", example: example, seen: &seen) { $0.http.headers.append(name) }
        case .httpQuery(let name, _, _):
            note("query \(name)", display: "query \(name)", example: example, seen: &seen) { $0.http.query.append(name) }
        case .json(let path, _, _):
            let general = path.generalized
            note("json \(general)", display: "json \(general)", example: example, seen: &seen) { $0.http.json.append(general) }
        case .redisArgument(let command, let position, _, _):
            note("redis \(command) \(position)", display: "redis \(command) argument \(position)", example: example, seen: &seen) {
                $0.redis.arguments.append(.init(command: command, position: position))
            }
        case .redisReply(let command, _, _):
            note("reply \(command)", display: "redis replies to \(command)", example: example, seen: &seen) { $0.redis.replies.append(command) }
        case .postgresParameter(let statement, let position, _, _):
            note("parameter \(position) \(statement)", display: "postgres $\(position) of \(statement)", example: example, seen: &seen) {
                $0.postgres.parameters.append(.init(statement: statement, position: position))
            }
        case .postgresValue(let statement, let column, _, _, _):
            note("column \(column) \(statement ?? "")", display: "postgres column \(column)\(statement.map { " of \($0)" } ?? "")", example: example, seen: &seen) {
                $0.postgres.columns.append(.init(statement: statement, column: column))
            }
        case .bytes(_, let side, let a, let b):
            let proposals = RegexProposal.propose(a, b)
            guard !proposals.isEmpty else { return false }
            for regex in proposals {
                note("bytes \(side) \(regex)", display: "bytes \(side) /\(regex)/", example: example, seen: &seen) { masks in
                    if let pattern = try? Masks.BytePattern(side: side, regex: regex) { masks.bytes.append(pattern) }
                }
            }
        case .httpStatus, .postgresRows, .postgresOutcome, .answers:
            return false
        }
        return true
    }

    /// Counts a mask once per pair; adds it the first time it is found.
    private mutating func note(_ identity: String, display: String, example: String, seen: inout Set<String>, add: (inout Masks) -> Void) {
        if found[identity] == nil {
            found[identity] = .init(mask: display, count: 0, example: example)
            order.append(identity)
            add(&masks)
        }
        if seen.insert(identity).inserted { found[identity]?.count += 1 }
    }
}
