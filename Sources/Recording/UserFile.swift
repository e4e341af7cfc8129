import Foundation

/// Reads and decodes a file a user named (a masks file, a proxies config
/// file). A failure is one line for the user, made into the caller's error
/// by `failing`: `cannot read the masks file m.json: no such file or
/// directory`, or `masks file m.json: ` and what decoding said.
package func decodeUserFile<Value, Failure: Error>(
    _ path: String,
    named what: String,
    failing: (String) -> Failure,
    _ decode: (Data) throws -> Value
) throws(Failure) -> Value {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw failing("cannot read the \(what) \(path): \(PlainReason.of(error))")
    }
    do {
        return try decode(data)
    } catch {
        throw failing("\(what) \(path): \(error)")
    }
}
