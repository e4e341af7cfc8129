/// `application/x-www-form-urlencoded` text (a URL's query, a form body) as
/// parameters, percent-decoded and sorted by name (values of one name keep
/// their order), so that parameter order does not change a key.
enum QueryString {
    static func parameters(_ query: String) -> [ExchangeKey.QueryParameter] {
        let parameters = query.split(separator: "&", omittingEmptySubsequences: true).map { pair -> ExchangeKey.QueryParameter in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return ExchangeKey.QueryParameter(name: decoded(parts[0]), value: parts.count > 1 ? decoded(parts[1]) : "")
        }
        return parameters.enumerated().sorted { ($0.element.name, $0.offset) < ($1.element.name, $1.offset) }.map(\.element)
    }

    /// Percent-decoding with `+` as space; a malformed escape is kept as it is.
    static func decoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), input.count >= 2,
                let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
