import Hummingbird

/// Refuses what looks like a browser's cross-site request (a `User-Agent`
/// starting with `Mozilla/`) with 403, as Toxiproxy does: a web page must
/// not be able to reconfigure the proxies of the developer viewing it.
struct BrowserRequestGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let agent = request.headers[.userAgent], agent.hasPrefix("Mozilla/") {
            throw APIError(.forbidden, "requests from a browser are not allowed")
        }
        return try await next(request, context)
    }
}
