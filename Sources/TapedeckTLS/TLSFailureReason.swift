import Foundation
import NIOCore
import NIOSSL

/// Why a handshake failed, in words a log line and a manifest can carry:
/// BoringSSL's reason (`CERTIFICATE_VERIFY_FAILED` → "certificate verify
/// failed"), with what it usually means.
package enum TLSFailureReason {
    /// The reason, when `error` is TLS's (a handshake that failed); nil for any other.
    package static func ifTLS(_ error: Error) -> String? {
        guard error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError || error is TLSError else { return nil }
        return of(error)
    }

    package static func of(_ error: Error) -> String {
        if let error = error as? TLSError { return error.message }
        if let error = error as? NIOSSLError {
            switch error {
            case .uncleanShutdown: return "the peer closed the connection during the TLS handshake"
            case .handshakeFailed(let inner): return describe("\(inner)")
            default: return describe("\(error)")
            }
        }
        if let error = error as? NIOSSLExtraError { return "\(error)" }
        if error is ChannelError { return "the connection closed during the TLS handshake" }
        return describe("\(error)")
    }

    /// BoringSSL's reason codes in the text, as words, with a hint for the common ones.
    private static func describe(_ text: String) -> String {
        let codes = text.components(separatedBy: "OPENSSL_internal:").dropFirst().compactMap { part in
            part.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).first.map(String.init)
        }
        guard !codes.isEmpty else { return text }
        let words = codes.map { $0.lowercased().replacingOccurrences(of: "_", with: " ") }.joined(separator: "; ")
        if codes.contains("CERTIFICATE_VERIFY_FAILED") {
            return words + " (the peer's certificate is not trusted: self-signed, expired, for another name, or from an unknown CA)"
        }
        if codes.contains(where: { $0.hasPrefix("TLSV1_ALERT_UNKNOWN_CA") || $0 == "SSLV3_ALERT_BAD_CERTIFICATE" || $0.hasPrefix("TLSV1_ALERT_") && $0.contains("CERTIFICATE") }) {
            return words + " (the peer does not trust our certificate: give it the CA)"
        }
        if codes.contains("DECRYPTION_FAILED_OR_BAD_RECORD_MAC") {
            // OpenSSL 3 clients (curl, psql) that reject our certificate under
            // TLS 1.3 end the handshake with an alert BoringSSL cannot read.
            return words + " (most often a client that does not trust our certificate: give it the CA)"
        }
        if codes.contains("NO_SHARED_CIPHER") || codes.contains("NO_SHARED_GROUP") {
            return words + " (no cipher suite or group both sides accept)"
        }
        return words
    }
}
