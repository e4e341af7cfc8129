import NIOCore

/// A PostgreSQL protocol v3 message, as framed from its bytes.
///
/// `body` is what follows the type byte and length word (for startup-phase
/// messages, what follows the length and the request code); the fields of
/// the messages Tapedeck reads are in `PostgresMessage+Fields.swift`.
public struct PostgresMessage: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The client asks for TLS (8 bytes, code 80877103).
        case sslRequest
        /// The client asks for GSSAPI encryption (8 bytes, code 80877104).
        case gssEncryptionRequest
        /// The client cancels a query on another connection (16 bytes, code 80877102).
        case cancelRequest
        /// StartupMessage; the version is major << 16 | minor (196608 for 3.0).
        case startup(protocolVersion: UInt32)
        /// The server's one-byte answer to an encryption request: `S` or `G` yes, `N` no.
        case encryptionResponse(UInt8)
        case frontend(Frontend)
        case backend(Backend)
    }

    /// Type bytes of the messages a client sends after startup.
    public enum Frontend: UInt8, Sendable, Hashable, CaseIterable {
        case bind = 0x42  // B
        case close = 0x43  // C
        case copyData = 0x64  // d
        case copyDone = 0x63  // c
        case copyFail = 0x66  // f
        case describe = 0x44  // D
        case execute = 0x45  // E
        case flush = 0x48  // H
        case functionCall = 0x46  // F
        case parse = 0x50  // P
        /// PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse.
        case authenticationResponse = 0x70  // p
        case query = 0x51  // Q
        case sync = 0x53  // S
        case terminate = 0x58  // X
    }

    /// Type bytes of the messages a server sends.
    public enum Backend: UInt8, Sendable, Hashable, CaseIterable {
        case authentication = 0x52  // R
        case backendKeyData = 0x4B  // K
        case bindComplete = 0x32  // 2
        case closeComplete = 0x33  // 3
        case commandComplete = 0x43  // C
        case copyData = 0x64  // d
        case copyDone = 0x63  // c
        case copyInResponse = 0x47  // G
        case copyOutResponse = 0x48  // H
        case copyBothResponse = 0x57  // W
        case dataRow = 0x44  // D
        case emptyQueryResponse = 0x49  // I
        case errorResponse = 0x45  // E
        case functionCallResponse = 0x56  // V
        case negotiateProtocolVersion = 0x76  // v
        case noData = 0x6E  // n
        case noticeResponse = 0x4E  // N
        case notificationResponse = 0x41  // A
        case parameterDescription = 0x74  // t
        case parameterStatus = 0x53  // S
        case parseComplete = 0x31  // 1
        case portalSuspended = 0x73  // s
        case readyForQuery = 0x5A  // Z
        case rowDescription = 0x54  // T

        /// Messages the server may send at any time, not as an answer: NoticeResponse,
        /// NotificationResponse, ParameterStatus.
        public var isAsynchronous: Bool {
            self == .noticeResponse || self == .notificationResponse || self == .parameterStatus
        }
    }

    public var kind: Kind
    public var body: ByteBuffer

    public init(kind: Kind, body: ByteBuffer = ByteBuffer()) {
        self.kind = kind
        self.body = body
    }

    static let sslRequestCode: UInt32 = 80_877_103
    static let gssEncryptionRequestCode: UInt32 = 80_877_104
    static let cancelRequestCode: UInt32 = 80_877_102

    public var frontend: Frontend? {
        if case .frontend(let type) = kind { return type }
        return nil
    }

    public var backend: Backend? {
        if case .backend(let type) = kind { return type }
        return nil
    }
}
