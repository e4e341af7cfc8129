import Foundation
import Hummingbird

/// Answers every failure as Toxiproxy does: a JSON `{"error", "status"}` body.
struct ToxiproxyErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "not found" : error.status.reasonPhrase)
            return Self.response(APIError(error.status, message))
        } catch {
            return Self.response(APIError(.internalServerError, "\(error)"))
        }
    }

    static func response(_ error: APIError) -> Response {
        let body = APIError.Body(error: error.message, status: error.status.code)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data()
        return Response(status: error.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
