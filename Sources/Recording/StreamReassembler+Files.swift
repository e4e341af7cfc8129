import PcapFile

extension StreamReassembler {
    /// Feeds every packet of the capture at `path` (pcap or pcapng) that
    /// passes the BPF `filter`, in file order. Does not `finish`: several
    /// files in a row read as one capture.
    ///
    /// Throws `PcapError`: `.open` (also for a link type the decoder cannot
    /// read, naming it), `.filter`, `.read`, or `.truncated` when the file
    /// ends inside a record — after the packets before it were processed.
    ///
    /// `progress`, when given, is called every few thousand packets with the
    /// file and how many of its bytes have been read. `lend`: see
    /// `process(_:at:emit:lend:)`.
    public mutating func read(
        path: String,
        filter: String? = nil,
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)? = nil,
        lend: ((LentBytes) throws -> Void)? = nil,
        emit: (ReassemblyEvent) throws -> Void
    ) throws {
        let reader = try PcapReader(path: path, filter: filter)
        let decoder: LinkDecoder
        do {
            decoder = try LinkDecoder(linkType: reader.linkType)
        } catch {
            throw PcapError(code: .open, path: path, message: error.description)
        }
        while let packet = try reader.next() {
            try process(packet, decoder: decoder, emit: emit, lend: lend)
            if let progress, reader.packetCount % 8192 == 0 {
                progress(path, reader.byteOffset)
            }
        }
    }

    /// Reads `paths` in order as one capture (a rotated set) and finishes it.
    ///
    /// A file cut short part-way through a record (a crash, a kill, someone
    /// else's capture) is read up to that record, which is reported to
    /// `truncated` (a `PcapError` with code `.truncated` naming the file and
    /// where its whole records end), and reading goes on with the next file.
    ///
    /// When a file fails otherwise (missing, unreadable, garbage), the
    /// sessions read so far are finished — every `opened` gets its `closed` —
    /// and then that `PcapError` is thrown; files after it are not read.
    /// Errors thrown by `emit` end the read at once.
    public static func read(
        paths: [String],
        filter: String? = nil,
        limits: Limits = Limits(),
        progress: ((_ path: String, _ bytesRead: Int64) -> Void)? = nil,
        truncated: (PcapError) -> Void = { _ in },
        lend: ((LentBytes) throws -> Void)? = nil,
        emit: (ReassemblyEvent) throws -> Void
    ) throws {
        var reassembler = StreamReassembler(limits: limits)
        for path in paths {
            do {
                try reassembler.read(path: path, filter: filter, progress: progress, lend: lend, emit: emit)
            } catch let error as PcapError where error.code == .truncated {
                truncated(error)
            } catch let error as PcapError {
                try reassembler.finish(emit: emit)
                throw error
            }
        }
        try reassembler.finish(emit: emit)
    }
}
