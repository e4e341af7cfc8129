import Faults
import Foundation
import Hummingbird
import Recording

/// The Toxiproxy v2 HTTP API (same paths, JSON shapes, defaults and status
/// codes) over a ``ProxyRegistry``, plus Tapedeck's own routes:
/// `GET /metrics`, `GET /proxies/{name}/sessions`,
/// `GET/POST/DELETE /proxies/{name}/recording` and the live report page
/// `GET /proxies/{name}/report` (`?format=json`: its data).
public enum ControlRoutes {
    /// The largest request body accepted.
    static let maximumBodySize = 1 << 20

    /// - Parameter access: the `Host` names and the token the API accepts.
    public static func router(registry: ProxyRegistry, access: APIAccess = APIAccess()) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ToxiproxyErrorMiddleware())
        router.add(middleware: BrowserRequestGuard(access: access))

        router.get("/version") { _, _ in
            try json(["version": TapedeckVersion.current])
        }
        router.get("/metrics") { _, _ in
            let text = await registry.metricsText()
            return Response(status: .ok, headers: [.contentType: ProxyMetrics.contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/reset") { _, _ in
            try await registry.reset()
            return Response(status: .noContent)
        }
        router.post("/populate") { request, context in
            let definitions = try await decode([ProxyDefinition].self, from: request, context: context)
            return try json(["proxies": await registry.populate(definitions)], status: .created)
        }

        router.get("/proxies") { _, _ in
            let proxies = await registry.all()
            return try json(Dictionary(uniqueKeysWithValues: proxies.map { ($0.name, $0) }))
        }
        router.post("/proxies") { request, context in
            let definition = try await decode(ProxyDefinition.self, from: request, context: context)
            return try json(await registry.create(definition), status: .created)
        }
        router.get("/proxies/{proxy}") { _, context in
            try json(await registry.proxy(name("proxy", context)))
        }
        let update: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let definition = try await decode(ProxyDefinition.self, from: request, context: context)
            return try json(await registry.update(name("proxy", context), with: definition))
        }
        router.post("/proxies/{proxy}", use: update)
        router.patch("/proxies/{proxy}", use: update)
        router.delete("/proxies/{proxy}") { _, context in
            try await registry.delete(name("proxy", context))
            return Response(status: .noContent)
        }

        router.get("/proxies/{proxy}/sessions") { _, context in
            try json(await registry.sessions(of: name("proxy", context)))
        }
        router.get("/proxies/{proxy}/report") { request, context in
            let sources = try await registry.reportSources(of: name("proxy", context))
            return try await ProxyReport.response(sources, json: request.uri.queryParameters["format"] == "json")
        }
        router.get("/proxies/{proxy}/recording") { _, context in
            try json(await registry.recording(of: name("proxy", context)))
        }
        router.post("/proxies/{proxy}/recording") { request, context in
            let proxy = try name("proxy", context)
            // An unknown proxy is a 404 before its body is looked at.
            _ = try await registry.proxy(proxy)
            let recording = try await decode(RecordingRequest.self, from: request, context: context)
            return try json(await registry.startRecording(recording, on: proxy), status: .created)
        }
        router.delete("/proxies/{proxy}/recording") { _, context in
            try json(await registry.stopRecording(on: name("proxy", context)))
        }

        router.get("/proxies/{proxy}/toxics") { _, context in
            try json(await registry.toxics(of: name("proxy", context)))
        }
        router.post("/proxies/{proxy}/toxics") { request, context in
            let toxic = try await decode(Fault.self, from: request, context: context)
            return try json(await registry.addToxic(toxic, to: name("proxy", context)))
        }
        router.get("/proxies/{proxy}/toxics/{toxic}") { _, context in
            try json(await registry.toxic(name("toxic", context), of: name("proxy", context)))
        }
        let updateToxic: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let patch = try await decode(FaultPatch.self, from: request, context: context)
            return try json(await registry.updateToxic(name("toxic", context), of: name("proxy", context), with: patch))
        }
        router.post("/proxies/{proxy}/toxics/{toxic}", use: updateToxic)
        router.patch("/proxies/{proxy}/toxics/{toxic}", use: updateToxic)
        router.delete("/proxies/{proxy}/toxics/{toxic}") { _, context in
            try await registry.removeToxic(name("toxic", context), from: name("proxy", context))
            return Response(status: .noContent)
        }
        return router
    }

    /// A proxy or toxic name from the path, percent-decoded as clients
    /// encode it (`/proxies/my%20proxy`), as Toxiproxy decodes it.
    static func name(_ parameter: String, _ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require(parameter)
        return raw.removingPercentEncoding ?? raw
    }

    /// Decodes a JSON body; anything wrong with it is a 400 saying what.
    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, context: BasicRequestContext) async throws -> Value {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maximumBodySize)
        } catch {
            throw APIError(.contentTooLarge, "the body is larger than \(maximumBodySize) bytes")
        }
        return try decode(type, from: Data(buffer: body))
    }

    /// Decodes JSON (a request body or a config file); errors are ``APIError``s.
    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as FaultError {
            throw APIError.badRequest(error.message)
        } catch {
            throw APIError.badBody(error)
        }
    }

    static func json<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
