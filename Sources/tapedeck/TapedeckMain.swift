#if canImport(Glibc)
import CMalloc
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
        #if canImport(Glibc)
        // A recorder's writer thread frees the buffers the event loops read
        // into; with glibc's default 128 KiB trim threshold each batch freed
        // gave the arena's memory back to the kernel, and the loops took it
        // again page by page: ~12,000 page faults a second per Gbit/s
        // recorded, 10-20% of the recorder's CPU. Keeping up to 32 MiB free
        // per arena stops that; an allocation of 1 MiB or more still gets
        // pages of its own, returned when it is freed.
        mallopt(M_TRIM_THRESHOLD, 32 << 20)
        mallopt(M_MMAP_THRESHOLD, 1 << 20)
        #endif
        await Tapedeck.main(nil)
    }
}
