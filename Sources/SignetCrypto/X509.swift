/// An X.509 certificate, parsed for the checks TUF dialects that carry certificates need (Notary v1 root
/// keys): subject common name, validity, whether it is a CA, whether it is signed with SHA-1, and its
/// public key. Signatures of the certificate itself are not checked here.
public struct X509Certificate: Sendable {
    /// The DER encoding.
    public let der: [UInt8]
    /// The subject's common name (the first one), if any.
    public let commonName: String?
    /// Validity, in seconds since the epoch.
    public let notBefore: Int64
    public let notAfter: Int64
    /// Whether the certificate is a CA certificate (basicConstraints CA:TRUE).
    public let isCA: Bool
    /// Whether the certificate's signature algorithm uses SHA-1 (refused by Notary).
    public let signedWithSHA1: Bool
    /// The subject public key.
    public let publicKey: PublicKey

    /// Parses a DER certificate.
    /// - Throws: `CryptoError.invalidKey` for malformed DER, `.unsupportedKey` for public key types Signet
    ///   cannot use (RSA outside 2048–4096 bits, other curves).
    public init(der: [UInt8]) throws(CryptoError) {
        let parsed = try OpenSSLX509.parse(der)
        self.der = der
        commonName = parsed.commonName
        notBefore = parsed.notBefore
        notAfter = parsed.notAfter
        isCA = parsed.isCA
        signedWithSHA1 = parsed.signedWithSHA1
        publicKey = try PublicKey(spkiDER: parsed.spki)
    }

    /// Parses every `CERTIFICATE` block of a PEM text, in order.
    /// - Throws: `CryptoError.invalidPEM` when a block is not a certificate or there is none; DER errors.
    public static func parseChain(pem: String) throws(CryptoError) -> [X509Certificate] {
        let blocks = try PEMDocument.parseAll(pem)
        guard !blocks.isEmpty else { throw CryptoError.invalidPEM("no certificate") }
        var out: [X509Certificate] = []
        for b in blocks {
            guard b.label == "CERTIFICATE" else { throw CryptoError.invalidPEM("expected \"CERTIFICATE\", found \"\(b.label)\"") }
            out.append(try X509Certificate(der: b.der))
        }
        return out
    }

    /// Whether this certificate chains to one of `roots` (certificate authorities), through
    /// `intermediates`, with every certificate valid at `time`.
    public func chains(to roots: [X509Certificate], intermediates: [X509Certificate] = [], at time: Int64) -> Bool {
        OpenSSLX509.verifies(leaf: der, intermediates: intermediates.map(\.der), roots: roots.map(\.der), at: time)
    }

    /// Whether the certificate is valid at `time` (seconds since the epoch), with `slack` seconds allowed
    /// before NotBefore (clocks differ).
    public func isValid(at time: Int64, notBeforeSlack slack: Int64 = 0) -> Bool {
        notBefore <= time + slack && time <= notAfter
    }
}
