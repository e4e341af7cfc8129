import Protocols

/// What varies between two runs of one scenario — request ids, dates,
/// nonces, generated keys — and so does not count: left out when requests
/// are matched (`replay serve --masks`, the masked and key tiers) and when
/// a live server's answers are compared with recorded ones (`replay drive
/// --masks`). `tapedeck noise` learns them from two recordings; a person
/// reads and edits the JSON file (see the README's "Masks").
public struct Masks: Sendable, Hashable {
    public var http: HTTP
    public var redis: Redis
    public var postgres: Postgres
    /// Regular expressions over raw bytes, for what no field names.
    public var bytes: [BytePattern]

    public init(http: HTTP = HTTP(), redis: Redis = Redis(), postgres: Postgres = Postgres(), bytes: [BytePattern] = []) {
        self.http = http
        self.redis = redis
        self.postgres = postgres
        self.bytes = bytes
    }

    public struct HTTP: Sendable, Hashable {
        /// Header fields (any case) whose values do not count, in requests
        /// and in responses.
        public var headers: [String]
        /// Query parameters left out of request keys.
        public var query: [String]
        /// JSON body fields left out of request keys and of compared answers.
        public var json: [JSONPath]

        public init(headers: [String] = [], query: [String] = [], json: [JSONPath] = []) {
            self.headers = headers
            self.query = query
            self.json = json
        }
    }

    public struct Redis: Sendable, Hashable {
        /// Command arguments whose values do not count.
        public var arguments: [Argument]
        /// Commands (uppercase) whose replies are not compared (`TIME`, `INCR`, `HELLO`).
        public var replies: [String]

        public init(arguments: [Argument] = [], replies: [String] = []) {
            self.arguments = arguments
            self.replies = replies
        }

        /// An argument of a command: `position` 1 is the first word after the
        /// command's name (the key of `SET key value`, so its value is 2).
        public struct Argument: Sendable, Hashable {
            public var command: String
            public var position: Int

            public init(command: String, position: Int) {
                self.command = command.uppercased()
                self.position = position
            }
        }
    }

    public struct Postgres: Sendable, Hashable {
        /// Bound parameters whose values do not count.
        public var parameters: [Parameter]
        /// Result columns whose values are not compared.
        public var columns: [Column]

        public init(parameters: [Parameter] = [], columns: [Column] = []) {
            self.parameters = parameters
            self.columns = columns
        }

        /// Parameter `$position` of `statement` (its text, compared with white
        /// space collapsed), or of every statement when `statement` is nil.
        public struct Parameter: Sendable, Hashable {
            public var statement: String?
            public var position: Int

            public init(statement: String?, position: Int) {
                self.statement = statement.map(StatementText.normalized)
                self.position = position
            }
        }

        /// A result column, by name, of `statement`'s results (of every
        /// statement's when nil).
        public struct Column: Sendable, Hashable {
            public var statement: String?
            public var column: String

            public init(statement: String?, column: String) {
                self.statement = statement.map(StatementText.normalized)
                self.column = column
            }
        }
    }

    /// A regular expression (Swift `Regex` syntax) over one side's bytes,
    /// read one character per byte: what it matches does not count.
    public struct BytePattern: Sendable, Hashable {
        /// `client`: requests (matching); `server`: answers (drive's comparison).
        public var side: Side
        public var regex: String

        /// Checks that `regex` compiles and cannot match the empty string.
        public init(side: Side, regex: String) throws(MaskError) {
            do {
                let compiled = try Regex(regex)
                if (try? compiled.wholeMatch(in: "")) != nil { throw MaskError("/\(regex)/ matches the empty string, so it would mask nothing") }
            } catch let error as MaskError {
                throw error
            } catch {
                throw MaskError("/\(regex)/ is not a regular expression: \(error)")
            }
            self.side = side
            self.regex = regex
        }
    }

    /// No masks at all.
    public var isEmpty: Bool { count == 0 }

    /// How many masks there are, of every kind.
    public var count: Int {
        http.headers.count + http.query.count + http.json.count + redis.arguments.count + redis.replies.count
            + postgres.parameters.count + postgres.columns.count + bytes.count
    }
}

/// A mask that cannot be used: what is wrong with it, in one line.
public struct MaskError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
