import ControlAPI
import Faults
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A client of the control API, Tapedeck's or Toxiproxy's: one method a
/// route, sending and reading the API's own types. A non-2xx answer throws
/// a ``Failure`` with the server's error text.
struct ControlClient: Sendable {
    /// A request that failed, in one line: `METHOD PATH: STATUS: the server's
    /// message`, or the server could not be reached or answered something
    /// unreadable.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let base: URL

    /// Every proxy, by name.
    func proxies() async throws -> [String: ProxyView] {
        try await send("GET", "/proxies")
    }

    func proxy(_ name: String) async throws -> ProxyView {
        try await send("GET", Self.path(proxy: name))
    }

    func createProxy(_ definition: ProxyDefinition) async throws -> ProxyView {
        try await send("POST", "/proxies", body: definition)
    }

    /// Changes the fields `definition` sets (`enabled`, `listen`, `upstream`).
    func updateProxy(_ name: String, with definition: ProxyDefinition) async throws {
        try await exchange("POST", Self.path(proxy: name), body: definition)
    }

    func deleteProxy(_ name: String) async throws {
        try await exchange("DELETE", Self.path(proxy: name))
    }

    /// The server fills in what `toxic` leaves out and checks the rest.
    func addToxic(_ toxic: FaultDefinition, to proxy: String) async throws -> FaultDefinition {
        try await send("POST", Self.path(proxy: proxy) + "/toxics", body: toxic)
    }

    func updateToxic(_ toxic: String, of proxy: String, with patch: FaultPatch) async throws -> FaultDefinition {
        try await send("PATCH", Self.path(toxic: toxic, of: proxy), body: patch)
    }

    func removeToxic(_ toxic: String, from proxy: String) async throws {
        try await exchange("DELETE", Self.path(toxic: toxic, of: proxy))
    }

    /// Tapedeck only, as are the recording and session routes below.
    func startRecording(_ request: RecordingRequest, on proxy: String) async throws -> RecordingView {
        try await send("POST", Self.path(proxy: proxy) + "/recording", body: request)
    }

    func stopRecording(on proxy: String) async throws -> RecordingView {
        try await send("DELETE", Self.path(proxy: proxy) + "/recording")
    }

    func recording(of proxy: String) async throws -> RecordingView {
        try await send("GET", Self.path(proxy: proxy) + "/recording")
    }

    func sessions(of proxy: String) async throws -> [SessionView] {
        try await send("GET", Self.path(proxy: proxy) + "/sessions")
    }

    private static func path(proxy: String) -> String {
        "/proxies/\(escaped(proxy))"
    }

    private static func path(toxic: String, of proxy: String) -> String {
        path(proxy: proxy) + "/toxics/\(escaped(toxic))"
    }

    /// A name as one path segment.
    private static func escaped(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name
    }

    private func send<Reply: Decodable>(_ method: String, _ path: String, body: (some Encodable)? = nil as Never?) async throws -> Reply {
        let data = try await exchange(method, path, body: body)
        do {
            return try JSONDecoder().decode(Reply.self, from: data)
        } catch {
            throw Failure(description: "\(method) \(path): unreadable answer from \(base.absoluteString): \(error)")
        }
    }

    /// The answer's body; a non-2xx status throws the server's error text.
    @discardableResult
    private func exchange(_ method: String, _ path: String, body: (some Encodable)? = nil as Never?) async throws -> Data {
        var request = URLRequest(url: URL(string: base.absoluteString.trimmingCharacters(in: ["/"]) + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = try JSONEncoder().encode(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Failure(description: "cannot reach \(base.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let message = (try? JSONDecoder().decode(APIError.Body.self, from: data))?.error ?? String(decoding: data, as: UTF8.self)
            throw Failure(description: "\(method) \(path): \(status): \(message)")
        }
        return data
    }
}
