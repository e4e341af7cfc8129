import ArgumentParser
import Proxy
import TapedeckTLS

/// How a listener ends its clients' TLS: `--tls-cert/--tls-key` or `--tls-ca DIR`.
struct TLSListenerOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Terminate clients' TLS with this PEM certificate (chain, leaf first); needs --tls-key.", valueName: "file"))
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "file"))
    var key: String?

    @Option(name: .customLong("tls-ca"), help: ArgumentHelp("Terminate clients' TLS with certificates issued on the fly for the name each asks for, by the CA in DIR (`tapedeck ca init DIR`).", valueName: "dir"))
    var authority: String?

    @Option(name: .customLong("keylog"), help: ArgumentHelp("Append both TLS sessions' secrets to FILE in the NSS key log format (for Wireshark).", valueName: "file"))
    var keyLog: String?

    func validate() throws {
        if (certificate == nil) != (key == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if certificate != nil, authority != nil {
            throw ValidationError("give --tls-cert/--tls-key or --tls-ca, not both")
        }
    }

    var terminates: Bool { certificate != nil || authority != nil }

    /// The termination these options describe (nil: none), files read and checked now.
    func termination(keyLog: KeyLogFile?) throws -> TLSTermination? {
        if let certificate, let key {
            return TLSTermination(identity: .fixed(try TLSIdentity(certificateFile: certificate, keyFile: key)), keyLog: keyLog)
        }
        if let authority {
            return TLSTermination(identity: .authority(try LocalCA(directory: authority)), keyLog: keyLog)
        }
        return nil
    }

    func openKeyLog() throws -> KeyLogFile? {
        try keyLog.map { try KeyLogFile(path: $0) }
    }
}

/// How the proxy speaks TLS to its upstream: `--upstream-tls` and its settings.
struct TLSUpstreamOptions: ParsableArguments {
    @Flag(name: .customLong("upstream-tls"), help: "Speak TLS to the upstream, verifying it against the system's roots or --upstream-ca.")
    var enabled = false

    @Option(name: .customLong("upstream-ca"), help: ArgumentHelp("Trust the CA certificates in this PEM file for the upstream, instead of the system's.", valueName: "file"))
    var authority: String?

    @Option(name: .customLong("upstream-sni"), help: ArgumentHelp("The name to ask the upstream for and check its certificate against (default: the client's SNI, else the upstream's host name).", valueName: "name"))
    var serverName: String?

    @Flag(name: .customLong("upstream-insecure"), help: "Accept any upstream certificate (test servers only).")
    var insecure = false

    @Option(name: .customLong("upstream-cert"), help: ArgumentHelp("A PEM client certificate for upstreams that ask for one (mutual TLS); needs --upstream-key.", valueName: "file"))
    var certificate: String?

    @Option(name: .customLong("upstream-key"), help: ArgumentHelp("The PEM private key of --upstream-cert.", valueName: "file"))
    var key: String?

    @Flag(name: .customLong("postgres-tls"), help: "PostgreSQL's TLS upgrade: answer a client's SSLRequest and terminate its TLS (needs --tls-cert/--tls-key or --tls-ca); with --upstream-tls, send SSLRequest upstream before TLS.")
    var postgres = false

    func validate() throws {
        if (certificate == nil) != (key == nil) {
            throw ValidationError("--upstream-cert and --upstream-key go together")
        }
        if !enabled, authority != nil || serverName != nil || insecure || certificate != nil {
            throw ValidationError("--upstream-ca, --upstream-sni, --upstream-insecure and --upstream-cert need --upstream-tls")
        }
    }

    func origination(keyLog: KeyLogFile?) throws -> TLSOrigination? {
        guard enabled else { return nil }
        return TLSOrigination(
            trustedCertificates: try authority.map { try TLSOrigination.certificates(inFile: $0) },
            serverName: serverName,
            insecure: insecure,
            identity: try certificate.map { try TLSIdentity(certificateFile: $0, keyFile: key ?? "") },
            keyLog: keyLog
        )
    }
}

/// Both legs' TLS options of a proxying command.
struct ProxyTLSOptions: ParsableArguments {
    @OptionGroup var listener: TLSListenerOptions
    @OptionGroup var upstream: TLSUpstreamOptions

    func validate() throws {
        if upstream.postgres, !listener.terminates {
            throw ValidationError("--postgres-tls needs a certificate to answer with: --tls-cert/--tls-key or --tls-ca")
        }
        if listener.keyLog != nil, !listener.terminates, !upstream.enabled {
            throw ValidationError("--keylog needs TLS on a leg: --tls-cert/--tls-key, --tls-ca or --upstream-tls")
        }
    }

    /// The proxy's TLS (nil: none), every file read and checked now.
    func proxyTLS() throws -> ProxyTLS? {
        guard listener.terminates || upstream.enabled else { return nil }
        let keyLog = try listener.openKeyLog()
        return try ProxyTLS(
            termination: try listener.termination(keyLog: keyLog),
            origination: try upstream.origination(keyLog: keyLog),
            postgres: upstream.postgres
        )
    }
}

/// `replay serve`'s TLS: a certificate or a CA, and PostgreSQL's upgrade.
struct TLSServeOptions: ParsableArguments {
    @OptionGroup var listener: TLSListenerOptions

    @Flag(name: .customLong("postgres-tls"), help: "Answer PostgreSQL clients' SSLRequest and speak TLS (needs --tls-cert/--tls-key or --tls-ca).")
    var postgres = false

    func validate() throws {
        if postgres, !listener.terminates {
            throw ValidationError("--postgres-tls needs a certificate to answer with: --tls-cert/--tls-key or --tls-ca")
        }
        if listener.keyLog != nil, !listener.terminates {
            throw ValidationError("--keylog needs --tls-cert/--tls-key or --tls-ca")
        }
    }

    func servingTLS() throws -> ServingTLS? {
        guard let termination = try listener.termination(keyLog: try listener.openKeyLog()) else { return nil }
        return try ServingTLS(termination: termination, postgres: postgres)
    }
}

/// `replay drive`'s TLS toward the target.
struct TLSDriveOptions: ParsableArguments {
    @Flag(name: .customLong("tls"), help: "Speak TLS to the target, verifying it against the system's roots or --tls-ca.")
    var enabled = false

    @Option(name: .customLong("tls-ca"), help: ArgumentHelp("Trust the CA certificates in this PEM file (for a CA folder, its `tapedeck ca export`).", valueName: "file"))
    var authority: String?

    @Option(name: .customLong("tls-sni"), help: ArgumentHelp("The name to ask for and check the certificate against (default: the target's host name).", valueName: "name"))
    var serverName: String?

    @Flag(help: "Accept any certificate from the target (test servers only).")
    var insecure = false

    @Option(name: .customLong("keylog"), help: ArgumentHelp("Append the TLS secrets to FILE in the NSS key log format.", valueName: "file"))
    var keyLog: String?

    func validate() throws {
        if !enabled, authority != nil || serverName != nil || insecure || keyLog != nil {
            throw ValidationError("--tls-ca, --tls-sni, --insecure and --keylog need --tls")
        }
    }

    func connectingTLS() throws -> ConnectingTLS? {
        guard enabled else { return nil }
        return try ConnectingTLS(origination: TLSOrigination(
            trustedCertificates: try authority.map { try TLSOrigination.certificates(inFile: $0) },
            serverName: serverName,
            insecure: insecure,
            keyLog: try keyLog.map { try KeyLogFile(path: $0) }
        ))
    }
}
