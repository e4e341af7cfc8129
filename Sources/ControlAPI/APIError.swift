import Foundation
import Hummingbird

/// A failed API request, answered as Toxiproxy does:
/// `{"error": "proxy not found", "status": 404}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    static let proxyNotFound = APIError(.notFound, "proxy not found")
    static let toxicNotFound = APIError(.notFound, "toxic not found")

    static func badRequest(_ message: String) -> APIError {
        APIError(.badRequest, message)
    }

    /// A JSON decoding failure as one line naming the field and what it must be.
    static func badBody(_ error: Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as DecodingError:
            return .badRequest(describe(error))
        default:
            return .badRequest("\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the body" : "\"\(keys.joined(separator: "."))\""
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context)) must be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context)) must be \(typeName(type)), not null"
        case .keyNotFound(let key, _):
            return "missing required field: \(key.stringValue)"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "the body is not valid JSON"
            }
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "invalid JSON body"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Double.Type, is Int.Type: return "a number"
        case is [Any].Type: return "a JSON array"
        default: return "a JSON object"
        }
    }
}

extension APIError {
    /// The body Toxiproxy sends with an error status.
    public struct Body: Sendable, Codable {
        public var error: String
        public var status: Int
    }
}
