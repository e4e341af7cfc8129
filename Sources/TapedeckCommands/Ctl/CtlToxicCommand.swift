import ArgumentParser

/// `tapedeck ctl toxic add|update|remove`.
struct CtlToxicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toxic",
        abstract: "Add, update or remove a proxy's toxics.",
        subcommands: [CtlToxicAddCommand.self, CtlToxicUpdateCommand.self, CtlToxicRemoveCommand.self],
        aliases: ["t"]
    )
}
