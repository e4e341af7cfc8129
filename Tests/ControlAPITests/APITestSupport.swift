import ControlAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOPosix

/// A registry and its routes, exercised in process through HummingbirdTesting.
struct RouteHarness {
    struct Reply {
        var status: HTTPResponse.Status
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: .fragmentsAllowed) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
        /// The Toxiproxy error text, when this is an error.
        var error: String? { object["error"] as? String }
    }

    let registry: ProxyRegistry

    /// Runs `body` with a client of a fresh API that records into
    /// `recordings` (a folder of its own when nil) and checks `access`;
    /// every proxy is stopped afterwards.
    static func with<Value: Sendable>(
        recordings: String? = nil,
        access: APIAccess = APIAccess(),
        _ body: @Sendable (RouteHarness, any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        let directory = recordings ?? NSTemporaryDirectory() + "/tapedeck-recordings-\(UUID().uuidString)"
        let harness = RouteHarness(registry: ProxyRegistry(group: MultiThreadedEventLoopGroup.singleton, seed: 7, recordingsDirectory: directory, logger: Logger(label: "test")))
        defer { if recordings == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let application = Application(router: ControlRoutes.router(registry: harness.registry, access: access))
        defer { _ = harness }
        do {
            let value = try await application.test(.router) { client in try await body(harness, client) }
            await harness.registry.shutdown(grace: .zero)
            return value
        } catch {
            await harness.registry.shutdown(grace: .zero)
            throw error
        }
    }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers: HTTPFields = [:]) async throws -> RouteHarness.Reply {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            RouteHarness.Reply(status: response.status, body: String(buffer: response.body))
        }
    }
}
