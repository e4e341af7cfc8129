import Foundation
import Hummingbird
import Recording

/// What the API accepts beyond its routes: which `Host` names, and the
/// bearer token, if any, every request must carry.
public struct APIAccess: Sendable {
    /// Extra `Host` names (without port) besides IP literals and `localhost`.
    public var hostNames: Set<String>
    /// When set, every request needs `Authorization: Bearer TOKEN`.
    public var token: String?

    public init(hostNames: Set<String> = [], token: String? = nil) {
        self.hostNames = Set(hostNames.map { $0.lowercased() })
        self.token = token
    }

    /// A `Host` value (`name`, `name:port`, `[v6]:port`) that names this
    /// machine by address or by a name the user allowed. A DNS-rebinding
    /// page reaches the API under its own domain name, which is refused.
    func allows(host value: String) -> Bool {
        var name = value.lowercased()
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            name = String(name[name.index(after: name.startIndex)..<close])
        } else if let colon = name.lastIndex(of: ":"), name.firstIndex(of: ":") == colon {
            name = String(name[..<colon])
        }
        return name == "localhost" || IPAddress(name) != nil || hostNames.contains(name)
    }
}

/// Refuses what a web page could send to the API through the browser of
/// the developer viewing it: a `Host` that is not this machine's address
/// or an allowed name (DNS rebinding), an `Origin` other than the API's
/// own, a `Sec-Fetch-Site` other than same-origin, and, as Toxiproxy does,
/// a `User-Agent` starting with `Mozilla/` (except on `GET /proxies/{name}/report`,
/// the page made for a browser). With a token configured, a
/// request without `Authorization: Bearer TOKEN` (or Basic with the
/// token as password) is a 401.
struct BrowserRequestGuard<Context: RequestContext>: RouterMiddleware {
    var access: APIAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // HTTP/1's Host arrives as the authority; any Host field left over is checked too.
        let hosts = [Self.field("host", of: request), request.head.authority].compactMap { $0 }
        if let foreign = hosts.first(where: { !access.allows(host: $0) }) {
            throw APIError(.forbidden, "Host '\(foreign)' is not this machine's address; start the server with --api-host \(foreign.split(separator: ":").first ?? "") to allow it")
        }
        let host = hosts.first
        if let origin = request.headers[.origin] {
            guard let host, let url = URL(string: origin), let originHost = url.host, ["http", "https"].contains(url.scheme ?? ""),
                  Self.authority(host: originHost, port: url.port) == host.lowercased() else {
                throw APIError(.forbidden, "cross-origin requests are not allowed (Origin: \(origin))")
            }
        }
        if let site = Self.field("sec-fetch-site", of: request), site != "same-origin", site != "none" {
            throw APIError(.forbidden, "cross-site requests are not allowed (Sec-Fetch-Site: \(site))")
        }
        // The report page is for a browser: a read, same-origin or typed in (the checks above hold).
        if let agent = request.headers[.userAgent], agent.hasPrefix("Mozilla/"), !Self.isReportPage(request) {
            throw APIError(.forbidden, "requests from a browser are not allowed")
        }
        if let token = access.token {
            guard Self.equalInConstantTime(Self.presentedToken(request.headers[.authorization]), token) else {
                throw APIError(.unauthorized, "missing or wrong API token: send Authorization: Bearer TOKEN (tapedeck ctl --api-token-file FILE)")
            }
        }
        return try await next(request, context)
    }

    /// `GET /proxies/{name}/report`, the one route a browser may ask for.
    static func isReportPage(_ request: Request) -> Bool {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        return request.method == .get && parts.count == 4 && parts[1] == "proxies" && parts[3] == "report"
    }

    private static func authority(host: String, port: Int?) -> String {
        let name = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return (port.map { "\(name):\($0)" } ?? name).lowercased()
    }

    /// The token in `Bearer TOKEN`, or the password in `Basic base64(USER:TOKEN)`
    /// (what Toxiproxy clients built on Python's requests send from a
    /// `~/.netrc` entry, since they cannot add headers).
    private static func presentedToken(_ authorization: String?) -> String {
        guard let authorization else { return "" }
        if authorization.hasPrefix("Bearer ") {
            return String(authorization.dropFirst(7))
        }
        if authorization.hasPrefix("Basic "), let data = Data(base64Encoded: String(authorization.dropFirst(6))),
           let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") {
            return String(pair[pair.index(after: colon)...])
        }
        return ""
    }

    private static func field(_ lowercasedName: String, of request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == lowercasedName }?.value
    }

    /// Compares every byte whatever the first difference, so the time
    /// taken does not tell how much of a guess was right.
    private static func equalInConstantTime(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
