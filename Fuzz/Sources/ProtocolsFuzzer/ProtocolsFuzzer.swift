import NIOCore
import Protocols

/// One fuzz input is a session: byte 0 picks the protocol, byte 1 the
/// longest chunk; the rest alternates sides at every 0xFE byte. The harness
/// traps (so libFuzzer keeps the input) when a byte fed does not come back in
/// exactly one message, or a failure's offset lies outside the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 2 else { return 0 }
    let protocolKind = ProtocolKind.allCases[Int(input[0]) % ProtocolKind.allCases.count]
    let longest = Int(input[1] % 32) + 1
    var framer = ConnectionFramer(protocol: protocolKind, limits: FramingLimits(maximumHeadBytes: 1_024, maximumLineBytes: 256, maximumDeclaredBytes: 1 << 16, maximumNestingDepth: 8, maximumCommandArguments: 32))
    var sent: [Side: [UInt8]] = [.client: [], .server: []]
    var messages: [Message] = []
    var side = Side.client
    var time = Duration.zero
    for segment in input.dropFirst(2).split(separator: 0xFE, omittingEmptySubsequences: false) {
        var rest = segment[...]
        while !rest.isEmpty {
            let chunk = rest.prefix(longest)
            rest = rest.dropFirst(longest)
            sent[side, default: []] += chunk
            messages += framer.feed(ByteBuffer(bytes: chunk), from: side, at: time)
            time += .microseconds(1)
        }
        side = side.other
    }
    messages += framer.finish()
    for side in Side.allCases {
        let back = messages.filter { $0.side == side }.sorted { $0.streamOffset < $1.streamOffset }.flatMap { $0.raw.readableBytesView }
        precondition(back == sent[side, default: []], "\(protocolKind): \(side) bytes not returned exactly")
    }
    if let failure = framer.failure {
        precondition(failure.messageOffset <= failure.offset && failure.offset <= sent[failure.side, default: []].count, "\(failure)")
    }
    var keyer = RequestKeyer()
    var state = SessionState(protocol: protocolKind)
    for case .exchange(let exchange) in ExchangePairer.pair(messages, protocol: protocolKind) {
        _ = keyer.key(for: exchange.requests)
        _ = RequestDescription.describe(exchange.requests)
        _ = ProtocolAnswer.unmatched(exchange.requests, explanation: "fuzz", state: state)
        state.apply(exchange)
    }
    for message in messages where message.redis?.replyType != nil {
        _ = RESPValue(parsing: message.raw)
    }
    return 0
}
