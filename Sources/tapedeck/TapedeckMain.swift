import TapedeckCommands

@main
enum TapedeckMain {
    static func main() async {
        await Tapedeck.main(nil)
    }
}
