import SignetHTTP
import SignetJSON

/// Errors raised by `SignetOCI`.
///
/// Bad data from a registry (a digest or size that does not match, a malformed manifest), network
/// and registry failures, bad input from the caller and local file problems are distinct cases, so
/// that a caller (the CLI maps them to exit codes) can tell a verification failure from an outage.
/// Messages say what was expected and what was received; they never contain credentials or tokens.
public enum OCIError: Error, Sendable, CustomStringConvertible {
    // MARK: caller input

    /// An image reference that does not follow the Docker reference grammar; `reason` says which
    /// part is wrong.
    case invalidReference(String, reason: String)
    /// An argument or option value that cannot be used (a malformed platform, a bad digest string,
    /// a concurrency of zero, ...).
    case invalidArgument(String)

    // MARK: verification

    /// Content whose computed digest differs from the expected one. `what` names the content
    /// (manifest, config, layer) and where it came from.
    case digestMismatch(what: String, expected: String, received: String)
    /// Content whose byte count differs from its descriptor's `size`.
    case sizeMismatch(what: String, expected: Int64, received: Int64)
    /// More bytes arrived than allowed (a blob larger than its descriptor, a manifest above the cap).
    case tooLarge(what: String, limit: Int64)
    /// A manifest or index that is not valid JSON or breaks the OCI/Docker schema rules.
    case invalidManifest(what: String, reason: String)
    /// A manifest media type this client does not handle (for example Docker schema 1).
    case unsupportedMediaType(what: String, mediaType: String)
    /// An index has no entry for the requested platform; `available` lists what it offers.
    case platformNotFound(requested: String, available: [String])

    // MARK: registry and network

    /// The registry (or a server it redirected to) could not be reached or the transfer broke.
    /// `attempts` is how many times the request was tried.
    case network(what: String, underlying: HTTPError, attempts: Int)
    /// The registry answered with an error status; `code` and `message` come from its OCI error
    /// body when it sent one.
    case registry(what: String, status: Int, code: String?, message: String?)
    /// The registry answered 404 for a manifest or blob (`what` names which one).
    case notFound(what: String)
    /// Authentication failed: rejected credentials, a token service that refused, or a registry
    /// that still answers 401/403 with the credentials at hand.
    case unauthorized(registry: String, detail: String)
    /// A token service or credential helper answered something that cannot be used.
    case invalidAuthResponse(detail: String)

    // MARK: local state

    /// Credentials could not be obtained: unreadable Docker config, a failing credential helper.
    case credentials(detail: String)
    /// An OCI image layout that is missing files or holds invalid ones (push input, reused blobs).
    case invalidLayout(path: String, reason: String)
    /// A local file operation failed.
    case io(path: String, detail: String)
    /// The operation was cancelled because another part of it failed first.
    case cancelled
    /// The process was asked to stop (SIGINT/SIGTERM) during the operation.
    case interrupted
    /// The registry declared (`Content-Length`) more bytes than expected for something; nothing was read.
    case declaredTooLarge(what: String, declared: Int64, limit: Int64)
    /// A descriptor (in a manifest, an index or trust data) declares a size larger than allowed.
    case descriptorTooLarge(what: String, size: Int64, limit: Int64)

    /// True for failures of verification: the data received is not the data that was expected.
    public var isVerificationFailure: Bool {
        switch self {
        case .digestMismatch, .sizeMismatch, .tooLarge, .declaredTooLarge, .descriptorTooLarge, .invalidManifest, .unsupportedMediaType, .platformNotFound:
            return true
        default:
            return false
        }
    }

    /// True for failures of the network or the registry (including authentication).
    public var isRegistryFailure: Bool {
        switch self {
        case .network, .registry, .notFound, .unauthorized, .invalidAuthResponse:
            return true
        default:
            return false
        }
    }

    /// The CLI's exit status for this error: 130 interrupted, 2 usage, 1 verification failure, 3 network
    /// or registry, 4 local (files, layouts, credential lookup).
    public var exitCode: Int32 {
        switch self {
        case .cancelled, .interrupted: return 130
        default:
            if isUsageError { return 2 }
            if isVerificationFailure { return 1 }
            if isRegistryFailure { return 3 }
            return 4
        }
    }

    /// True for bad input from the caller.
    public var isUsageError: Bool {
        switch self {
        case .invalidReference, .invalidArgument:
            return true
        default:
            return false
        }
    }

    /// One sentence naming what went wrong, what was expected and what was received.
    public var description: String {
        switch self {
        case let .invalidReference(text, reason):
            return "invalid image reference \(quoted(text)): \(reason)"
        case let .invalidArgument(detail):
            return "invalid argument: \(detail)"
        case let .digestMismatch(what, expected, received):
            return "\(what): digest mismatch: expected \(expected), received content with digest \(received)"
        case let .sizeMismatch(what, expected, received):
            return "\(what): size mismatch: expected \(expected) bytes, received \(received) bytes"
        case let .tooLarge(what, limit):
            return "\(what): more than the expected \(limit) bytes arrived (refused without reading further)"
        case let .invalidManifest(what, reason):
            return "\(what): invalid manifest: \(reason)"
        case let .unsupportedMediaType(what, mediaType):
            return "\(what): unsupported media type \(quoted(mediaType))"
        case let .platformNotFound(requested, available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "the image index has no manifest for platform \(requested) (available: \(list))"
        case let .network(what, underlying, attempts):
            let tries = attempts > 1 ? " (after \(attempts) attempts)" : ""
            return "\(what): \(underlying)\(tries)"
        case let .registry(what, status, code, message):
            var text = "\(what): registry answered HTTP \(status)"
            if let code { text += " \(code)" }
            if let message, !message.isEmpty { text += ": \(message)" }
            return text
        case let .notFound(what):
            return "\(what): not found in the registry (HTTP 404)"
        case let .unauthorized(registry, detail):
            return "authentication with \(registry) failed: \(detail)"
        case let .invalidAuthResponse(detail):
            return "unusable authentication response: \(detail)"
        case let .credentials(detail):
            return "cannot get registry credentials: \(detail)"
        case let .invalidLayout(path, reason):
            return "\(path): invalid OCI image layout: \(reason)"
        case let .io(path, detail):
            return "\(path): \(detail)"
        case .cancelled:
            return "cancelled because another transfer of the same operation failed"
        case .interrupted:
            return "interrupted (SIGINT or SIGTERM); nothing partial was kept"
        case let .descriptorTooLarge(what, size, limit):
            return "\(what): its descriptor declares \(size) bytes, more than the \(limit) allowed; not fetched"
        case let .declaredTooLarge(what, declared, limit):
            return "\(what): the registry declared \(declared) bytes (Content-Length), more than the expected \(limit); refused without reading it"
        }
    }
}

/// `text` in double quotes, cut to 200 characters with control characters replaced, for messages
/// that echo untrusted input.
func quoted(_ text: String) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == 200 {
            out += "…"
            break
        }
        if scalar.value < 0x20 || scalar.value == 0x7F {
            out += "?"
        } else {
            out.unicodeScalars.append(scalar)
        }
        count += 1
    }
    return "\"" + out + "\""
}
