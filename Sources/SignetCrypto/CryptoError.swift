/// Errors raised by `SignetCrypto`.
///
/// Bad input (a malformed key, a corrupt key file), misuse (a key of the wrong kind for an operation)
/// and failures inside the C libraries are distinct cases. Messages never contain secret material.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Key bytes or encodings that cannot be a key of the expected kind.
    case invalidKey(String)
    /// A well-formed key of a kind or size Signet does not support.
    case unsupportedKey(String)
    /// A PEM document that could not be read.
    case invalidPEM(String)
    /// A signature whose encoding is wrong for the operation (for example a raw r‖s of the wrong length).
    case invalidSignatureEncoding(String)
    /// The passphrase did not open the key (or the encrypted data was modified).
    case wrongPassphraseOrTampered(String)
    /// An encrypted key file that is structurally broken.
    case corruptKeyFile(String)
    /// A digest given as text that is not valid.
    case invalidDigest(String)
    /// A failure reported by OpenSSL or libsodium; `detail` holds the library's error queue text.
    case library(operation: String, detail: String)

    public var description: String {
        switch self {
        case .invalidKey(let s): return "invalid key: \(s)"
        case .unsupportedKey(let s): return "unsupported key: \(s)"
        case .invalidPEM(let s): return "invalid PEM: \(s)"
        case .invalidSignatureEncoding(let s): return "invalid signature encoding: \(s)"
        case .wrongPassphraseOrTampered(let s): return "cannot decrypt: wrong passphrase, or the encrypted data was modified (\(s))"
        case .corruptKeyFile(let s): return "corrupt key file: \(s)"
        case .invalidDigest(let s): return "invalid digest: \(s)"
        case .library(let op, let detail): return "\(op) failed: \(detail)"
        }
    }
}
