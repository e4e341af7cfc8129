import NIOCore

/// The fields of the messages Tapedeck reads, decoded from `body` on demand.
/// Each is nil when the message is of another type or its body is malformed.
extension PostgresMessage {
    /// ReadyForQuery's transaction status: the state the next request is made in.
    public enum TransactionStatus: UInt8, Sendable, Hashable {
        case idle = 0x49  // I
        case inTransaction = 0x54  // T
        case failed = 0x45  // E
    }

    /// A Parse message: a statement's text, prepared under a name (empty for the unnamed statement).
    public struct Parse: Sendable, Hashable {
        public var statement: String
        public var query: String
        public var parameterTypes: [UInt32]
    }

    /// A Bind message: parameter values for a prepared statement, bound to a portal.
    public struct Bind: Sendable, Hashable {
        public var portal: String
        public var statement: String
        public var parameterFormats: [Int16]
        /// Each parameter's bytes as sent (text or binary), nil for NULL.
        public var parameters: [ByteBuffer?]
        public var resultFormats: [Int16]
    }

    /// StartupMessage's parameters (`user`, `database`, `application_name`...), in order.
    public var startupParameters: [(name: String, value: String)]? {
        guard case .startup = kind else { return nil }
        var body = self.body
        var parameters: [(name: String, value: String)] = []
        while let name = body.readNullTerminatedString(), !name.isEmpty {
            guard let value = body.readNullTerminatedString() else { return nil }
            parameters.append((name, value))
        }
        return parameters
    }

    /// A simple Query's text.
    public var queryText: String? {
        guard frontend == .query else { return nil }
        var body = self.body
        return body.readNullTerminatedString()
    }

    public var parse: Parse? {
        guard frontend == .parse else { return nil }
        var body = self.body
        guard let statement = body.readNullTerminatedString(), let query = body.readNullTerminatedString(),
            let count = body.readInteger(as: Int16.self), count >= 0
        else { return nil }
        var types: [UInt32] = []
        for _ in 0..<count {
            guard let type = body.readInteger(as: UInt32.self) else { return nil }
            types.append(type)
        }
        return Parse(statement: statement, query: query, parameterTypes: types)
    }

    public var bind: Bind? {
        guard frontend == .bind else { return nil }
        var body = self.body
        guard let portal = body.readNullTerminatedString(), let statement = body.readNullTerminatedString(),
            let formats = body.readInt16Array()
        else { return nil }
        guard let parameters = body.readPostgresValues(), let results = body.readInt16Array() else { return nil }
        return Bind(portal: portal, statement: statement, parameterFormats: formats, parameters: parameters, resultFormats: results)
    }

    /// Describe's or Close's target: `S` statement or `P` portal, and its name.
    public var target: (kind: UInt8, name: String)? {
        guard frontend == .describe || frontend == .close else { return nil }
        var body = self.body
        guard let kind = body.readInteger(as: UInt8.self), let name = body.readNullTerminatedString() else { return nil }
        return (kind, name)
    }

    /// Execute's portal and row limit (0 for no limit).
    public var execute: (portal: String, maximumRows: Int32)? {
        guard frontend == .execute else { return nil }
        var body = self.body
        guard let portal = body.readNullTerminatedString(), let rows = body.readInteger(as: Int32.self) else { return nil }
        return (portal, rows)
    }

    public var transactionStatus: TransactionStatus? {
        guard backend == .readyForQuery, body.readableBytes == 1, let byte = body.getInteger(at: body.readerIndex, as: UInt8.self) else { return nil }
        return TransactionStatus(rawValue: byte)
    }

    /// An ErrorResponse's or NoticeResponse's fields: code byte (`S`, `C`, `M`...) and value.
    public var noticeFields: [(code: UInt8, value: String)]? {
        guard backend == .errorResponse || backend == .noticeResponse else { return nil }
        var body = self.body
        var fields: [(code: UInt8, value: String)] = []
        while let code = body.readInteger(as: UInt8.self), code != 0 {
            guard let value = body.readNullTerminatedString() else { return nil }
            fields.append((code, value))
        }
        return fields
    }

    /// The SQLSTATE of an ErrorResponse or NoticeResponse (`42P01`).
    public var sqlState: String? {
        noticeFields?.first { $0.code == UInt8(ascii: "C") }?.value
    }

    /// The primary message of an ErrorResponse or NoticeResponse.
    public var primaryMessage: String? {
        noticeFields?.first { $0.code == UInt8(ascii: "M") }?.value
    }

    /// An Authentication message's code: 0 ok, 3 cleartext, 5 MD5, 10/11/12 SASL start/continue/final.
    public var authenticationCode: Int32? {
        guard backend == .authentication else { return nil }
        return body.getInteger(at: body.readerIndex, as: Int32.self)
    }

    /// CommandComplete's tag (`SELECT 3`, `INSERT 0 1`).
    public var commandTag: String? {
        guard backend == .commandComplete else { return nil }
        var body = self.body
        return body.readNullTerminatedString()
    }

    public var notification: (processID: Int32, channel: String, payload: String)? {
        guard backend == .notificationResponse else { return nil }
        var body = self.body
        guard let pid = body.readInteger(as: Int32.self), let channel = body.readNullTerminatedString(),
            let payload = body.readNullTerminatedString()
        else { return nil }
        return (pid, channel, payload)
    }

    public var parameterStatus: (name: String, value: String)? {
        guard backend == .parameterStatus else { return nil }
        var body = self.body
        guard let name = body.readNullTerminatedString(), let value = body.readNullTerminatedString() else { return nil }
        return (name, value)
    }
}

extension ByteBuffer {
    /// Bind's parameters, or a DataRow's columns: a count (Int16), then per
    /// value its length (Int32, -1 for NULL) and its bytes.
    package mutating func readPostgresValues() -> [ByteBuffer?]? {
        guard let count = readInteger(as: Int16.self), count >= 0 else { return nil }
        var values: [ByteBuffer?] = []
        for _ in 0..<count {
            guard let length = readInteger(as: Int32.self) else { return nil }
            if length < 0 {
                values.append(nil)
            } else {
                guard let value = readSlice(length: Int(length)) else { return nil }
                values.append(value)
            }
        }
        return values
    }

    /// A count (Int16) and that many Int16s.
    fileprivate mutating func readInt16Array() -> [Int16]? {
        guard let count = readInteger(as: Int16.self), count >= 0 else { return nil }
        var values: [Int16] = []
        for _ in 0..<count {
            guard let value = readInteger(as: Int16.self) else { return nil }
            values.append(value)
        }
        return values
    }
}
