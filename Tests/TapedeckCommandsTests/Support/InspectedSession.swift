import TapedeckTestSupport
import Recording

/// One element of `tapedeck inspect --format json`, decoded by the key names
/// the command documents (not by the type that encodes them). A recording's
/// manifest lists its sessions in the same shape.
struct InspectedSession: Decodable, Hashable, Sendable {
    struct Direction: Decodable, Hashable, Sendable {
        var bytes: Int
        /// In a manifest; in inspect's JSON with `--digest xxh3`.
        var xxh3: String?
        /// In inspect's JSON (the default `--digest sha256`); in manifests written before XXH3.
        var sha256: String?
        var gapBytes: Int

        enum CodingKeys: String, CodingKey {
            case bytes, xxh3, sha256
            case gapBytes = "gap_bytes"
        }
    }

    /// `{"name", "type", "stream", "action"}`: a fault that acted on the session.
    struct ActedFault: Decodable, Hashable, Sendable {
        var name: String
        var type: String
        var stream: String
        var action: String
    }

    var index: Int
    var client: String
    var server: String
    var start: String
    var durationNanoseconds: Int64
    var clientToServer: Direction
    var serverToClient: Direction
    var end: String
    var startedMidFlow: Bool
    var wire: [String]?
    var faults: [ActedFault]?

    enum CodingKeys: String, CodingKey {
        case index, client, server, start, end, wire, faults
        case durationNanoseconds = "duration_ns"
        case clientToServer = "client_to_server"
        case serverToClient = "server_to_client"
        case startedMidFlow = "started_mid_flow"
    }

    /// The addresses its frames carry: `wire` when the real endpoints differ
    /// (Unix sockets), else `client` and `server`.
    func wireEndpoints() throws -> (client: Endpoint, server: Endpoint) {
        let texts = wire ?? [client, server]
        guard texts.count == 2 else {
            throw ChildProcess.Failure(description: "session \(index): wire has \(texts.count) endpoints, not 2")
        }
        return (try Endpoint(parsing: texts[0]), try Endpoint(parsing: texts[1]))
    }
}

/// A recording's manifest (FILE.json), as far as the tests read it.
struct RecordingManifest: Decodable {
    var sessions: [InspectedSession]
}

extension InspectedSession {
    /// The bytes tshark's Follow TCP Stream gives for this session, by
    /// direction: the one stream whose two nodes are its wire endpoints,
    /// whichever node tshark numbered first.
    func followed(in streams: [TShark.FollowedStream]) throws -> (clientToServer: [UInt8], serverToClient: [UInt8]) {
        let (client, server) = try wireEndpoints()
        let matches = streams.filter { Set($0.nodes) == [client, server] }
        guard matches.count == 1, let stream = matches.first,
              let sentByClient = stream.bytes(sentBy: client), let sentByServer = stream.bytes(sentBy: server)
        else {
            throw ChildProcess.Failure(description: "session \(index) (\(client) → \(server)) matches \(matches.count) of tshark's streams, not 1")
        }
        return (sentByClient, sentByServer)
    }
}
