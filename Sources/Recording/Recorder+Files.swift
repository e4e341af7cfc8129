import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif
import PcapFile

/// open(2) and close(2), where `Recorder.open(_:)` and `close(session:at:)` do not hide them.
private func openToRead(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }
private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }

/// The writer thread's side of a `Recorder`: events into files, flushes,
/// rotation, the ring, the post-rotate command, and what happens when the
/// disk fails.
extension Recorder {
    func write(_ item: Item) {
        guard !files.stopped else {
            if let (id, bytes, direction) = item.data {
                countUnrecordedAfterStop(bytes, direction: direction, session: id)
            }
            return
        }
        switch item {
        case .open(let session, let flow, let handshake):
            files.live[session.id] = session
            guard let writer = writer(for: session) else { return }
            attempt(on: writer) { try writer.open(session, flow: flow, handshake: handshake, carriedXXH3: true) }
        case .event(let id, let event, let records, let digest):
            guard files.live.keys.contains(id), let writer = writer(for: id) else { return }
            attempt(on: writer, losing: item.data) { try writer.append(event, records: records, xxh3After: digest, session: id) }
        case .copied(let id, let copied):
            guard files.live.keys.contains(id), let writer = writer(for: id) else { return }
            attempt(on: writer, losing: item.data) {
                try writer.append(
                    copied.records, copiedPayload: copied.count, direction: copied.direction, at: copied.time, xxh3After: copied.xxh3After, session: id
                )
            }
        case .faults(let id, let faults):
            guard files.live.keys.contains(id) else { return }
            writer(for: id)?.setFaults(faults, session: id)
        case .close(let id, let time):
            guard let session = files.live.removeValue(forKey: id) else { return }
            guard let writer = writer(for: session) else { return }
            writer.close(session: id, at: time)
            if case .perSession = configuration.output {
                files.perSession[id] = nil
                finishFile(writer)
                if writer.failure != nil { writeFailed(writer, continuing: []) }
            }
        }
    }

    /// Writes what the writers' records still point to (the end of a
    /// batch, whose buffers are about to go).
    func writeOutReferences() {
        for writer in files.writers where !writer.isFinished {
            attempt(on: writer) { try writer.writeOutReferences() }
        }
    }

    /// The bytes of `event`, sent after recording stopped, that no file
    /// will hold (not counted when standard output's reader went away).
    private func countUnrecordedAfterStop(_ bytes: Int, direction: Direction, session id: UInt64) {
        guard !files.outputClosed else { return }
        condition.lock()
        countUnrecorded(bytes, direction: direction, session: id)
        condition.unlock()
    }

    /// Runs one write on `writer`. When the disk fails, the bytes `lost`
    /// (which did not reach the file) are counted as unrecorded and the
    /// failure is handled; any other error is logged.
    private func attempt(on writer: RecordingFileWriter, losing lost: @autoclosure () -> (session: UInt64, bytes: Int, direction: Direction)? = nil, _ body: () throws -> Void) {
        do {
            try body()
        } catch where writer.failure != nil {
            if readerLeft(writer) { return }
            if let (id, bytes, direction) = lost() {
                writer.addUnrecorded(bytes, direction: direction, session: id)
                unrecordedBytes.wrappingIncrement(by: bytes, ordering: .relaxed)
            }
            writeFailed(writer, continuing: writer.continuations)
        } catch {
            logger.error("recording failed", metadata: ["error": "\(error)"])
        }
    }

    /// The file an open session's frames go to.
    private func writer(for id: UInt64) -> RecordingFileWriter? {
        switch configuration.output {
        case .file, .standardOutput:
            return files.current
        case .perSession:
            return files.perSession[id]
        }
    }

    /// The file a session's frames go to (created on first use in per-session mode).
    private func writer(for session: Session) -> RecordingFileWriter? {
        if let writer = writer(for: session.id) { return writer }
        switch configuration.output {
        case .file, .standardOutput:
            return nil
        case .perSession(let directory):
            let number = String(session.id)
            let name = Self.compactTime(session.opened) + "_" + String(repeating: "0", count: max(0, 6 - number.count)) + number + ".pcap"
            do {
                let writer = try RecordingFileWriter(
                    path: directory + "/" + name,
                    addressing: configuration.addressing,
                    properties: configuration.properties,
                    overwrite: configuration.overwrite
                )
                writer.redact = configuration.redactPatterns
                files.perSession[session.id] = writer
                return writer
            } catch let error as PcapError where error.code == .write {
                // The disk is full: not even a file header fits.
                stop(because: error)
                return nil
            } catch {
                logger.error("cannot create a recording", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }

    func flushAll() {
        for writer in files.writers where !writer.isFinished {
            do {
                try writer.flush()
            } catch where writer.failure != nil {
                writeFailed(writer, continuing: writer.continuations)
            } catch {
                logger.error("recording flush failed", metadata: ["error": "\(error)"])
            }
        }
        recordedBytes.store(files.finishedBytes + (files.current?.byteCount ?? 0) + files.perSession.values.reduce(0) { $0 + $1.byteCount }, ordering: .relaxed)
    }

    func rotateIfDue() {
        guard let current = files.current, configuration.rotates else { return }
        let bySize = configuration.rotateBytes.map { current.byteCount >= $0 } ?? false
        let byAge = configuration.rotateInterval.map { files.openedAt.duration(to: ContinuousClock.now) >= $0 } ?? false
        guard bySize || byAge else { return }
        let continuations = current.continuations
        finishFile(current)
        if current.failure != nil {
            writeFailed(current, continuing: continuations)
            return
        }
        do {
            try openNextFile(continuing: continuations)
        } catch let error as PcapError where error.code == .write {
            freeSpaceAndGoOn(continuing: continuations, after: error)
        } catch {
            logger.error("cannot open the next recording file", metadata: ["error": "\(error)"])
        }
    }

    /// Opens the next file of the set; sessions still live continue in it
    /// where the previous file left them (no new handshake, sequence numbers
    /// go on), so the set reads as one capture and each file as a capture
    /// that started mid-flow.
    func openNextFile(continuing continuations: [SessionContinuation]) throws {
        guard let path = files.namer?.next() else { return }
        let writer = try recycleOldestFile(as: path) ?? RecordingFileWriter(
            path: path,
            addressing: configuration.addressing,
            properties: configuration.properties,
            overwrite: configuration.overwrite
        )
        writer.redact = configuration.redactPatterns
        if case .standardOutput(let manifest) = configuration.output { writer.manifestPath = manifest }
        writer.continue(continuations)
        sessionsContinueInAnotherFile(continuations.map(\.session.id))
        files.current = writer
        files.openedAt = ContinuousClock.now
        files.written.append(path)
        currentFileBox.withLockedValue { $0 = path }
        if let ring = configuration.ringSize, files.written.count > ring {
            removeOldestFile()
        }
    }

    /// A full ring's next file, written in the storage of its oldest: that
    /// file leaves the ring as if removed (its name and manifest go), but its
    /// pages and blocks are written over rather than freed and allocated
    /// again, which on tmpfs, and on a virtual machine whose host takes back
    /// freed memory, costs more than the copy itself. Nil, with the oldest
    /// file left to be removed as usual, when it cannot be done safely:
    /// another program has the file open, a post-rotate command may still
    /// be at work on it, or a failed write keeps its writer.
    private func recycleOldestFile(as path: String) throws -> RecordingFileWriter? {
        #if os(Linux)
        guard let ring = configuration.ringSize, files.written.count >= ring, configuration.postRotateCommand == nil,
              let oldest = files.written.first, !files.failed.contains(where: { $0.path == oldest }),
              let writer = try RecordingFileWriter.recycling(
                oldest, as: path,
                addressing: configuration.addressing,
                properties: configuration.properties,
                overwrite: configuration.overwrite
              )
        else { return nil }
        files.written.removeFirst()
        unlink(Manifest.path(forRecording: oldest))
        return writer
        #else
        return nil
        #endif
    }

    /// Removes the ring's oldest file and its manifest. `now` when the disk
    /// is full: its space must be back before the next write.
    private func removeOldestFile(now: Bool = false) {
        let oldest = files.written.removeFirst()
        // A -z command may have replaced the file with a compressed copy its manifest names.
        if let renamed = (try? Manifest.load(forRecording: oldest))?.file, !renamed.contains("/") {
            remove(URL(fileURLWithPath: oldest).deletingLastPathComponent().appendingPathComponent(renamed).path, freeingNow: now)
        }
        remove(oldest, freeingNow: now)
        unlink(Manifest.path(forRecording: oldest))
        files.failed.removeAll { $0.path == oldest }
    }

    /// Removes `path`: its name goes at once. Freeing its pages (a gigabyte
    /// of tmpfs or page cache takes a tenth of a second or more) is left to
    /// `releaseQueue` when the filesystem has room to spare — twice the
    /// file's size and 64 MiB more — so that neither the writer nor the
    /// sessions waiting on it wait for it: the file is held open across the
    /// unlink and closed there. Short of room, or `now`, it is freed here,
    /// after any frees still pending, as the next file may need the space
    /// at once.
    private func remove(_ path: String, freeingNow now: Bool) {
        let descriptor = now ? -1 : openToRead(path)
        if descriptor >= 0, Self.hasRoomToSpare(beside: descriptor) {
            unlink(path)
            releaseQueue.async { closeDescriptor(descriptor) }
            return
        }
        if descriptor >= 0 { closeDescriptor(descriptor) }
        releaseQueue.sync {}
        unlink(path)
    }

    private static func hasRoomToSpare(beside descriptor: Int32) -> Bool {
        var file = stat()
        var system = statvfs()
        guard fstat(descriptor, &file) == 0, fstatvfs(descriptor, &system) == 0 else { return false }
        let free = Int64(system.f_bavail) * Int64(system.f_frsize)
        return free >= 2 * Int64(file.st_size) + (64 << 20)
    }

    /// Closes `writer`'s file and writes its manifest (after a failed write:
    /// the manifest of what the file holds, kept to be written again at the
    /// end), then hands the file to the post-rotate command.
    func finishFile(_ writer: RecordingFileWriter) {
        guard !writer.isFinished else { return }
        do {
            try writer.finish()
        } catch where writer.failure != nil {
            // The failure itself is reported by whoever handles it.
        } catch {
            logger.error("cannot finish a recording", metadata: ["file": "\(writer.path)", "error": "\(error)"])
        }
        if writer.failure != nil {
            unrecordedBytes.wrappingIncrement(by: writer.bytesLostInCut, ordering: .relaxed)
        }
        if writer.failure != nil || !writer.manifestWritten {
            files.failed.append(writer)
        }
        // A finished writer reports its file's final size.
        files.finishedBytes += writer.byteCount
        if files.current === writer { files.current = nil }
        logger.info("recording finished", metadata: ["file": "\(writer.path)", "sessions": "\(writer.sessionCount)"])
        if let command = configuration.postRotateCommand {
            runPostRotate(command, file: writer.path)
        }
    }

    /// A write to `writer` failed: its file is cut back to its last whole
    /// record. A rotated set goes on in a new file — past a file size limit
    /// (EFBIG) at once, in a ring of files once the oldest is freed;
    /// otherwise recording stops.
    func writeFailed(_ writer: RecordingFileWriter, continuing continuations: [SessionContinuation]) {
        guard let failure = writer.failure, !files.stopped else { return }
        if readerLeft(writer) { return }
        let isCurrent = files.current === writer || (files.current == nil && files.written.last == writer.path)
        let sizeLimit = failure.errorNumber == EFBIG
        let canFree = configuration.ringSize != nil && files.written.contains { $0 != writer.path }
        guard configuration.rotates, isCurrent, sizeLimit || canFree else {
            stop(because: failure)
            return
        }
        if !sizeLimit { removeOldestFile(now: true) }
        if !writer.isFinished {
            finishFile(writer)
        } else if !writer.manifestWritten {
            try? writer.writeManifest()
        }
        do {
            try openNextFile(continuing: continuations)
            logger.warning(sizeLimit ? "file size limit: recording goes on in a new file" : "disk full: recording goes on in a new file after freeing the oldest of the ring", metadata: [
                "error": "\(failure)", "file": "\(files.current?.path ?? "")",
                "recording.unrecorded_bytes": "\(unrecordedBytes.load(ordering: .relaxed))",
            ])
        } catch let error as PcapError where error.code == .write {
            freeSpaceAndGoOn(continuing: continuations, after: error)
        } catch {
            stop(because: failure)
        }
    }

    /// The next file of a ring could not be created for want of space: frees
    /// the oldest files one by one until it can, or stops recording when
    /// none is left to free.
    private func freeSpaceAndGoOn(continuing continuations: [SessionContinuation], after error: PcapError) {
        var failure = error
        // The newest file of the ring, the one just finished, is kept.
        while configuration.ringSize != nil, files.written.count > 1 {
            removeOldestFile(now: true)
            do {
                try openNextFile(continuing: continuations)
                logger.warning("disk full: recording goes on in a new file after freeing the oldest of the ring", metadata: [
                    "error": "\(error)", "file": "\(files.current?.path ?? "")",
                ])
                return
            } catch let next as PcapError where next.code == .write {
                failure = next
            } catch {
                break
            }
        }
        stop(because: failure)
    }

    /// Recording stops for good: every open file is closed (cut back to its
    /// last whole record where its last write failed), events are no longer
    /// taken, and what sessions send from now on is counted as unrecorded.
    func stop(because failure: PcapError) {
        guard !files.stopped else { return }
        files.stopped = true
        stopReasonBox.withLockedValue { $0 = failure }
        stopTakingEvents()
        if let current = files.current { finishFile(current) }
        for writer in files.perSession.values { finishFile(writer) }
        files.perSession.removeAll()
        currentFileBox.withLockedValue { $0 = "" }
        logger.error("recording stopped; the proxy goes on forwarding, unrecorded", metadata: [
            "error": "\(failure)",
            "recording.unrecorded_bytes": "\(unrecordedBytes.load(ordering: .relaxed))",
        ])
    }

    func closeAll() {
        // Sessions still open: what their redaction held back is decided and written.
        // Their records are the only owners of some payloads: kept until written out.
        let heldBack = heldBackEvents()
        withExtendedLifetime(heldBack) {
            for (id, event, records, digest) in heldBack {
                write(.event(id, event, records, xxh3After: digest))
            }
            writeOutReferences()
        }
        for writer in files.writers {
            finishFile(writer)
            if let failure = writer.failure, !files.stopped, !readerLeft(writer) {
                files.stopped = true
                stopReasonBox.withLockedValue { $0 = failure }
                logger.error("recording cut short while closing", metadata: ["error": "\(failure)"])
            }
        }
        files.perSession.removeAll()
        recordedBytes.store(files.finishedBytes, ordering: .relaxed)
        rewriteFailedManifests()
    }

    /// With `-w -` or a FIFO, a write that fails with EPIPE means the
    /// stream's reader went away (`tcpdump -c 1`, a closed `head`, Wireshark
    /// quit): recording stops,
    /// said once as a warning, and the proxy goes on. The user chose that,
    /// so nothing counts as unrecorded and the exit status stays 0. Any
    /// other failure of standard output (a full disk it was redirected to)
    /// is a disk failure like any other. True when `writer` was handled here.
    private func readerLeft(_ writer: RecordingFileWriter) -> Bool {
        guard writer.writesStream, let failure = writer.failure, failure.errorNumber == EPIPE else { return false }
        guard !files.outputClosed else { return true }
        files.outputClosed = true
        files.stopped = true
        stopTakingEvents(countingUnrecorded: false)
        if !writer.isFinished { finishFile(writer) }
        files.current = nil
        currentFileBox.withLockedValue { $0 = "" }
        let stream = writer.path == "-" ? "standard output" : writer.path
        logger.warning("\(stream) closed: recording stopped, the proxy goes on", metadata: ["error": "\(failure)"])
        return true
    }

    /// The manifests of files cut short, written again now that they can
    /// count what their sessions sent after the stop, and of files whose
    /// manifest the full disk refused before.
    private func rewriteFailedManifests() {
        condition.lock()
        let after = unrecordedAfterStop
        condition.unlock()
        for writer in files.failed {
            for (id, bytes) in after {
                writer.addUnrecorded(bytes[0], direction: .clientToServer, session: id)
                writer.addUnrecorded(bytes[1], direction: .serverToClient, session: id)
            }
            let hadOne = writer.manifestWritten
            do {
                try writer.writeManifest()
            } catch {
                if hadOne {
                    logger.warning("the manifest of a file cut short could not be brought up to date; it counts what was lost up to the stop", metadata: ["file": "\(writer.path)", "error": "\(error)"])
                } else {
                    logger.error("no manifest beside a file cut short", metadata: ["file": "\(writer.path)", "error": "\(error)"])
                }
            }
        }
    }

    /// Runs `-z` on a finished file. When the command replaces the file
    /// with a compressed copy beside it (`gzip`, `zstd --rm`), the manifest
    /// is updated to name that copy.
    private func runPostRotate(_ command: String, file: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " \"$1\"", "sh", file]
        let group = postRotateCommands
        let logger = logger
        process.terminationHandler = { process in
            if process.terminationStatus != 0 {
                logger.warning("-z command failed", metadata: ["command": "\(command)", "file": "\(file)", "status": "\(process.terminationStatus)"])
            }
            Self.nameReplacement(ofRecording: file, logger: logger)
            group.leave()
        }
        group.enter()
        do {
            try process.run()
        } catch {
            group.leave()
            logger.error("-z command failed to start", metadata: ["command": "\(command)", "error": "\(error)"])
        }
    }

    /// When `file` is gone and exactly one `FILE.SUFFIX` (other than its
    /// manifest) lies beside it, the manifest names that file instead.
    private static func nameReplacement(ofRecording file: String, logger: Logger) {
        guard !FileManager.default.fileExists(atPath: file) else { return }
        let url = URL(fileURLWithPath: file)
        let name = url.lastPathComponent
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []).filter {
            $0.hasPrefix(name + ".") && !$0.hasSuffix(".json") && !$0.hasSuffix(".partial")
        }
        guard candidates.count == 1, var manifest = try? Manifest.load(forRecording: file) else { return }
        manifest.file = candidates[0]
        do {
            try manifest.write(forRecording: file)
        } catch {
            logger.error("cannot update the manifest", metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }
}
