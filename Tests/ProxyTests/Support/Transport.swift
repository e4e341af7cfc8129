import Recording
import TapedeckTestSupport
import Testing

/// The upstream's transport a proxy test runs over.
enum Transport: String, CaseIterable, CustomTestStringConvertible {
    case tcp, unix
    var testDescription: String { rawValue }

    /// Where a test's upstream listens: TCP loopback on any port, or a
    /// socket in `directory`.
    func upstreamEndpoint(in directory: TemporaryDirectory) -> Endpoint {
        self == .tcp ? .ip(.loopbackV4, port: 0) : .unix(path: directory.file("up.sock"))
    }
}
