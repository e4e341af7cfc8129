import ArgumentParser

/// `tapedeck ctl list`: the proxies, one a line.
struct CtlListCommand: CtlSubcommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the proxies.", aliases: ["ls", "l"])
    @OptionGroup var connection: CtlConnection

    func run(with client: ControlClient) async throws {
        let proxies = try await client.proxies()
        print("NAME\tLISTEN\tUPSTREAM\tENABLED\tTOXICS")
        for (name, proxy) in proxies.sorted(by: { $0.key < $1.key }) {
            print("\(name)\t\(proxy.listen)\t\(proxy.upstream)\t\(proxy.enabled)\t\(proxy.toxics.count)")
        }
    }
}
