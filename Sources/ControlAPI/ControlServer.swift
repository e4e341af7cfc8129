import Foundation
import Hummingbird
import Logging
import NIOCore
import Recording

/// The control API as a Hummingbird application.
public enum ControlServer {
    /// - Parameters:
    ///   - api: where the API listens (TCP or a Unix socket).
    ///   - access: the `Host` names and the token the API accepts.
    ///   - idleTimeout: a connection with no request under way (one whose
    ///     request head has not fully arrived included) is closed after this long.
    ///   - onListening: called with the bound address once the API accepts requests.
    public static func application(
        registry: ProxyRegistry,
        on api: Endpoint,
        access: APIAccess = APIAccess(),
        idleTimeout: TimeAmount = .seconds(60),
        logger: Logger,
        onListening: @escaping @Sendable (String) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let address: BindAddress
        switch api {
        case .ip(let host, let port):
            address = .hostname(host.description, port: Int(port))
        case .host(let name, let port):
            address = .hostname(name, port: Int(port))
        case .unix(let path):
            address = .unixDomainSocket(path: path)
        }
        return Application(
            router: ControlRoutes.router(registry: registry, access: access),
            server: .http1(configuration: .init(idleTimeout: idleTimeout)),
            configuration: .init(address: address, serverName: "tapedeck"),
            onServerRunning: { channel in
                let bound = channel.localAddress.map { address in
                    address.pathname.map { "unix:\($0)" } ?? Endpoint.ip(IPAddress(address.ipAddress ?? "") ?? .loopbackV4, port: UInt16(address.port ?? 0)).description
                }
                await onListening(bound ?? "\(api)")
            },
            logger: logger
        )
    }
}
