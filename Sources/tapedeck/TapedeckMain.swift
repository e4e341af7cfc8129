#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TapedeckCommands

@main
enum TapedeckMain {
    static func main() async {
        // Past a file size limit (ulimit -f) a write then fails with EFBIG,
        // which the writers handle as they handle a full disk, instead of
        // the signal killing the process mid-file.
        signal(SIGXFSZ, SIG_IGN)
        await Tapedeck.main(nil)
    }
}
