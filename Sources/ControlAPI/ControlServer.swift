import Foundation
import Hummingbird
import Logging
import NIOCore
import Recording

/// The control API as a Hummingbird application.
public enum ControlServer {
    /// - Parameters:
    ///   - api: where the API listens (TCP or a Unix socket).
    ///   - onListening: called with the bound address once the API accepts requests.
    public static func application(
        registry: ProxyRegistry,
        on api: Endpoint,
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
            router: ControlRoutes.router(registry: registry),
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
