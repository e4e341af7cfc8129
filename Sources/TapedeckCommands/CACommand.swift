import ArgumentParser
import TapedeckTLS

/// `tapedeck ca`: the local certificate authority `--tls-ca` issues from.
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Make and export the local CA that issues certificates for --tls-ca.",
        discussion: """
            Examples:
              tapedeck ca init ~/.tapedeck/ca
              tapedeck ca export ~/.tapedeck/ca > tapedeck-ca.pem
              curl --cacert tapedeck-ca.pem https://localhost:8443/
            """,
        subcommands: [Init.self, Export.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new CA in DIR (ca.pem, and ca.key readable by you alone)."
        )

        @Argument(help: ArgumentHelp("The folder to keep the CA in (created if missing).", valueName: "dir"))
        var directory: String

        func run() throws {
            try reportingFailures {
                let authority = try LocalCA.create(in: directory)
                print("made \(authority.subject) in \(directory); trust it with `tapedeck ca export \(directory)`")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the CA's certificate (PEM), for a client's trust store."
        )

        @Argument(help: ArgumentHelp("The folder `tapedeck ca init` made.", valueName: "dir"))
        var directory: String

        func run() throws {
            try reportingFailures {
                print(try LocalCA(directory: directory).certificatePEM, terminator: "")
            }
        }
    }
}
