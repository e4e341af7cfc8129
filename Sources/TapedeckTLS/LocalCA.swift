import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOSSL
import SwiftASN1
import X509

/// A certificate authority of one's own, kept in a folder (`ca.pem`,
/// `ca.key`), that issues a leaf certificate for each name a client asks
/// for (SNI) on the fly — what a test suite's real clients trust to talk
/// TLS to Tapedeck. Made by `tapedeck ca init DIR`; its certificate is
/// what `tapedeck ca export DIR` prints for a client's trust store.
///
/// Threading: safe from any thread; issued certificates are cached for the
/// life of the value.
public final class LocalCA: Sendable {
    /// The authority's certificate, PEM.
    public let certificatePEM: String
    private let certificate: Certificate
    private let key: P256.Signing.PrivateKey
    private let issued = NIOLockedValueBox<[String: TLSIdentity]>([:])

    public static let certificateFile = "ca.pem"
    public static let keyFile = "ca.key"

    /// The name leaf certificates are issued for when the client sends no
    /// SNI (it connected to an IP address): `localhost`, `127.0.0.1`, `::1`.
    public static let defaultName = "localhost"

    /// A new authority, in memory (`TapedeckTesting`'s throw-away CA, and `init(directory:)`'s).
    public init(commonName: String = "Tapedeck local CA") throws {
        let key = P256.Signing.PrivateKey()
        let certificate = try Self.certificate(
            commonName: commonName,
            publicKey: key.publicKey,
            validDays: 10 * 365,
            issuer: nil,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: Self.keyIdentifier(of: key.publicKey))
            },
            issuerKey: key
        )
        self.key = key
        self.certificate = certificate
        self.certificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// The authority kept in `directory` (see `create(in:)`). Throws a
    /// `TLSError` naming the file that is missing or not what it should be.
    public init(directory: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), !isFolder.boolValue {
            throw TLSError("\(directory) is a file, not a CA folder made by `tapedeck ca init DIR` (for a certificate and key of your own, use --tls-cert and --tls-key)")
        }
        let certificatePath = (directory as NSString).appendingPathComponent(Self.certificateFile)
        let keyPath = (directory as NSString).appendingPathComponent(Self.keyFile)
        let certificateText = try readText(certificatePath, what: "CA certificate", hint: "make one with `tapedeck ca init \(directory)`")
        let keyText = try readText(keyPath, what: "CA key", hint: "make one with `tapedeck ca init \(directory)`")
        do {
            certificate = try Certificate(pemEncoded: certificateText)
        } catch {
            throw TLSError("\(certificatePath) is not a PEM certificate (\(error))")
        }
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: keyText)
        } catch {
            throw TLSError("\(keyPath) is not a PEM P-256 private key made by `tapedeck ca init` (\(error))")
        }
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw TLSError("\(keyPath) is not the key of \(certificatePath)")
        }
        certificatePEM = certificateText
    }

    /// Makes a new authority in `directory` (created if missing; the key
    /// readable by its owner alone). Refuses to replace one already there.
    @discardableResult
    public static func create(in directory: String) throws -> LocalCA {
        let manager = FileManager.default
        let keyPath = (directory as NSString).appendingPathComponent(keyFile)
        let certificatePath = (directory as NSString).appendingPathComponent(certificateFile)
        if manager.fileExists(atPath: keyPath) || manager.fileExists(atPath: certificatePath) {
            throw TLSError("\(directory) already holds a CA (\(certificateFile), \(keyFile)); remove them first to make a new one")
        }
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw TLSError("cannot create \(directory): \(error.localizedDescription)")
        }
        let authority = try LocalCA()
        guard manager.createFile(atPath: keyPath, contents: Data(authority.key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]),
            manager.createFile(atPath: certificatePath, contents: Data(authority.certificatePEM.utf8), attributes: [.posixPermissions: 0o644])
        else {
            throw TLSError("cannot write the CA into \(directory)")
        }
        return authority
    }

    /// The authority's subject, as a manifest lists it.
    public var subject: String { certificate.subject.description }

    /// A certificate and key for `name` (a host name or an IP address),
    /// signed by this authority, valid for 90 days; the same one for the same
    /// name from then on. Nil asks for the no-SNI certificate, which names
    /// `localhost`, `127.0.0.1` and `::1`.
    public func identity(for name: String?) throws -> TLSIdentity {
        let key = name?.lowercased() ?? ""
        if let known = issued.withLockedValue({ $0[key] }) { return known }
        let made = try issue(for: name)
        return issued.withLockedValue { issued in
            if let raced = issued[key] { return raced }
            issued[key] = made
            return made
        }
    }

    private func issue(for name: String?) throws -> TLSIdentity {
        let issued = try issuePEM(for: name)
        return try TLSIdentity(certificatePEM: issued.certificatePEM, keyPEM: issued.keyPEM, source: "the certificate issued for \(name ?? Self.defaultName)")
    }

    /// A new certificate for `name` (nil: the no-SNI one) as PEM text — the
    /// chain, leaf first, then this authority — and its key: what a test
    /// hands a server it starts (`openssl s_server`, nginx, PostgreSQL).
    public func issuePEM(for name: String?) throws -> (certificatePEM: String, keyPEM: String) {
        let leafKey = P256.Signing.PrivateKey()
        let names: [GeneralName] = name.map { [Self.generalName($0)] } ?? [
            .dnsName(Self.defaultName), Self.generalName("127.0.0.1"), Self.generalName("::1"),
        ]
        let leaf = try Self.certificate(
            commonName: name ?? Self.defaultName,
            publicKey: leafKey.publicKey,
            validDays: 90,
            issuer: certificate.subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: ArraySlice(SubjectKeyIdentifier(keyIdentifier: Self.keyIdentifier(of: key.publicKey)).keyIdentifier))
            },
            issuerKey: key
        )
        return (try leaf.serializeAsPEM().pemString + "\n" + certificatePEM, leafKey.pemRepresentation)
    }

    /// A certificate for `commonName` (organization Tapedeck), valid from an
    /// hour ago (clocks drift) for `validDays` days, issued by `issuer` (nil:
    /// itself) and signed with `issuerKey`.
    private static func certificate(
        commonName: String,
        publicKey: P256.Signing.PublicKey,
        validDays: Int,
        issuer: DistinguishedName?,
        extensions: Certificate.Extensions,
        issuerKey: P256.Signing.PrivateKey
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("Tapedeck")
        }
        let now = Date()
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(TimeInterval(validDays) * 86400),
            issuer: issuer ?? subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(issuerKey)
        )
    }

    /// RFC 5280's method 1: SHA-1 of the public key's bits.
    static func keyIdentifier(of key: P256.Signing.PublicKey) -> ArraySlice<UInt8> {
        ArraySlice(Insecure.SHA1.hash(data: key.x963Representation))
    }

    /// An IP address as an iPAddress name (4 or 16 bytes), anything else as a DNS name.
    static func generalName(_ name: String) -> GeneralName {
        if let bytes = ipBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))) }
        return .dnsName(name)
    }

    static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

/// A file's text, or a `TLSError` saying which file, what it should be, and what to do.
func readText(_ path: String, what: String, hint: String? = nil) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        let exists = FileManager.default.fileExists(atPath: path)
        throw TLSError("\(what) \(path) \(exists ? "cannot be read" : "does not exist")" + (hint.map { "; \($0)" } ?? ""))
    }
    return String(decoding: data, as: UTF8.self)
}
