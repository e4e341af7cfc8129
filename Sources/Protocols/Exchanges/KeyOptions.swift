/// What request keys leave out, as mitmproxy's and VCR's users ask for.
public struct KeyOptions: Sendable, Hashable {
    /// Query parameters left out of HTTP keys (cache busters, timestamps, signatures).
    public var ignoredQueryParameters: Set<String>
    /// Leave HTTP bodies out of keys altogether.
    public var ignoresHTTPBody: Bool

    public init(ignoredQueryParameters: Set<String> = [], ignoresHTTPBody: Bool = false) {
        self.ignoredQueryParameters = ignoredQueryParameters
        self.ignoresHTTPBody = ignoresHTTPBody
    }
}
