extension ExchangePairer {
    private enum Awaits {
        case encryptionAnswer
        case readyForQuery
        case nothing
    }

    /// Client messages group into requests: an encryption request alone; a
    /// StartupMessage with the password messages after it; a Query; an
    /// extended-query run up to its Sync; a FunctionCall; COPY data joins
    /// the request that started the COPY. Each request but CancelRequest and
    /// Terminate is answered up to its ReadyForQuery (an encryption request
    /// by its one byte). Notices, notifications and parameter changes that
    /// arrive while no request is waiting answer nothing.
    static func pairPostgres(_ client: [Message], _ server: [Message], into ledger: inout PairingLedger) {
        var awaits: [Awaits] = []
        var extendedOpen = false
        func open(_ request: Message, awaiting: Awaits, extended: Bool = false) {
            ledger.open([request])
            awaits.append(awaiting)
            extendedOpen = extended
        }
        for request in client {
            guard let message = request.postgres else { continue }
            switch message.kind {
            case .sslRequest, .gssEncryptionRequest:
                open(request, awaiting: .encryptionAnswer)
            case .startup, .frontend(.query), .frontend(.functionCall):
                open(request, awaiting: .readyForQuery)
            case .cancelRequest, .frontend(.terminate):
                open(request, awaiting: .nothing)
            case .frontend(.authenticationResponse), .frontend(.copyData), .frontend(.copyDone), .frontend(.copyFail):
                ledger.join(request)
            case .frontend(.sync) where extendedOpen:
                ledger.join(request)
                extendedOpen = false
            case .frontend(.sync):
                open(request, awaiting: .readyForQuery)
            case .frontend(.flush) where !extendedOpen:
                ledger.join(request)
            case .frontend(.parse), .frontend(.bind), .frontend(.describe), .frontend(.execute), .frontend(.close), .frontend(.flush):
                if extendedOpen { ledger.join(request) } else { open(request, awaiting: .readyForQuery, extended: true) }
            case .encryptionResponse, .backend:
                continue
            }
        }
        func awaited() -> Awaits? {
            while ledger.waiting != nil {
                if case .nothing = awaits[ledger.head] { ledger.close() } else { return awaits[ledger.head] }
            }
            return nil
        }
        for response in server {
            guard let message = response.postgres, let awaiting = awaited(), let waiting = ledger.waiting else {
                ledger.unsolicited(response)
                continue
            }
            switch (awaiting, message.kind) {
            case (.encryptionAnswer, .encryptionResponse):
                ledger.answer(response)
                ledger.close()
            case (.readyForQuery, .backend(let type)):
                if type.isAsynchronous, waiting.startedAt > response.firstByteAt {
                    ledger.unsolicited(response)
                } else {
                    ledger.answer(response)
                    if type == .readyForQuery { ledger.close() }
                }
            default:
                ledger.unsolicited(response)
            }
        }
    }
}
