import ArgumentParser
import Faults

/// A toxic's values, as `ctl toxic add` and `update` take them:
/// `--attribute key=value` (repeatable; values are numbers) and `--toxicity`.
struct ToxicValueOptions: ParsableArguments {
    @Option(name: [.customShort("a"), .customLong("attribute")], help: ArgumentHelp("An attribute, e.g. latency=100 (repeatable).", valueName: "key=value"))
    var attributes: [String] = []

    @Option(name: [.customLong("toxicity")], help: "The share of connections affected, 0 to 1.")
    var toxicity: Double?

    /// The attributes by name; one that is not `key=number` is a usage error.
    func parsedAttributes() throws -> [String: Double] {
        var result: [String: Double] = [:]
        for text in attributes {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let value = Double(parts[1]) else {
                throw ValidationError("attribute '\(text)' must be key=number, e.g. latency=100")
            }
            result[parts[0]] = value
        }
        return result
    }

    /// The update these values make: the attributes given, and the toxicity if given.
    func patch() throws -> FaultPatch {
        FaultPatch(toxicity: toxicity, attributes: try parsedAttributes())
    }
}
