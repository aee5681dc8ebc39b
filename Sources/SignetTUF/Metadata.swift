import Dispatch
import SignetCrypto
import SignetJSON

/// A signed metadata file: `{"signed": …, "signatures": […]}`.
///
/// Parsing keeps the received bytes and the canonical encoding of the received `signed` subtree, which
/// is what signatures are verified over (TUF 1.0.34 §4.2: signatures cover the canonical JSON of `signed`).
public struct Metadata<R: RoleMetadata>: Sendable {
    /// The typed role content. Changing it invalidates the received canonical bytes.
    public var signed: R { didSet { receivedCanonical = nil } }
    /// Signatures, in received order; no key ID repeats.
    public var signatures: [Signature]
    /// Unknown top-level fields, kept verbatim.
    public var unknown: JSONObject
    /// The canonical JSON of `signed` as received (what signatures cover), until `signed` is changed.
    private var receivedCanonical: [UInt8]?

    /// Inputs at least this large are parsed and canonicalised concurrently.
    static var concurrentScanThreshold: Int { 1 << 20 }

    /// Builds metadata to be signed.
    public init(signed: R) {
        self.signed = signed
        signatures = []
        unknown = JSONObject()
        receivedCanonical = nil
    }

    /// The bytes signatures cover: the canonical JSON of the received `signed` subtree, or of the current
    /// `signed` value when it was built or changed locally.
    /// - Throws: `TUFError.json` if `signed` holds a float, which canonical JSON cannot represent.
    public func canonicalSigned() throws(TUFError) -> [UInt8] {
        if let receivedCanonical { return receivedCanonical }
        do { return try CanonicalJSON.encode(signed.json) } catch { throw TUFError.json(file: R.typeName, error) }
    }

    /// Signs the current `signed` content with `key`, replacing any earlier signature by the same key ID.
    /// - Throws: `TUFError.json` for unencodable content; `CryptoError` from signing.
    public mutating func sign(with key: PrivateKey, keyID: String) throws {
        let message = try canonicalSigned()
        let sig = try key.sign(message)
        signatures.removeAll { ByteKey($0.keyID) == ByteKey(keyID) }
        signatures.append(Signature(keyID: keyID, sig: Hex.encode(sig)))
    }

    /// Encodes the whole file: canonical JSON (compact, deterministic), except that control characters
    /// in strings (the line breaks of a PEM key) get standard JSON escapes, since canonical JSON writes
    /// them raw and strict JSON readers (this one included) refuse raw control characters.
    /// Signatures are unaffected: they cover the canonical form of `signed`, not the file's bytes.
    /// - Throws: `TUFError.json` for unencodable content.
    public func encoded() throws(TUFError) -> [UInt8] {
        do throws(JSONError) {
            let canonical = try CanonicalJSON.encode(json)
            guard canonical.contains(where: { $0 < 0x20 }) else { return canonical }
            return JSONWriter.encode(try JSONParser.parseCanonical(canonical, limits: JSONLimits(maxBytes: canonical.count, maxDepth: 64)), pretty: false)
        } catch { throw TUFError.json(file: R.typeName, error) }
    }

    /// Strictly parses a metadata file of role type `R`.
    ///
    /// With `lazy` (the default), a role with a large object (the `targets` of targets metadata) keeps it
    /// unparsed until entries are looked up, and the canonical bytes are computed by streaming over the
    /// received document, so no full value tree is built. The whole document is validated either way.
    /// - Throws: `TUFError.json` for malformed JSON, `.invalidMetadata` / `.wrongType` /
    ///   `.unsupportedSpecVersion` for bad structure, `.duplicateSignature` for a repeated key ID.
    public init(bytes: [UInt8], file: String, lazy: Bool = true) throws(TUFError) {
        try self.init(bytes: bytes, file: file, lazy: lazy, observer: nil)
    }

    /// As `init(bytes:file:lazy:)`; `observer` follows the canonical form while it is written, when it is
    /// written by streaming (a lazy role of at least `concurrentScanThreshold` bytes). Otherwise it is
    /// never called, and ending it is the caller's business (`StreamedSignatureChecks.cancel`).
    init(bytes: [UInt8], file: String, lazy: Bool, observer: (any CanonicalOutputObserver)?) throws(TUFError) {
        let limits = JSONLimits(maxBytes: max(bytes.count, 1), maxDepth: 64)
        let value: JSONValue
        var lazyObject: LazyJSONObject? = nil
        let canonical: [UInt8]
        do throws(JSONError) {
            if lazy, let path = R.lazyPath {
                if bytes.count >= Metadata.concurrentScanThreshold {
                    // Two independent read-only scans of the same bytes: on a large targets role (26 MB
                    // for 100 000 targets) each takes tens of milliseconds, so they run side by side.
                    let results = ConcurrentScanResults()
                    DispatchQueue.concurrentPerform(iterations: 2) { i in
                        if i == 0 {
                            do throws(JSONError) { results.parsed = .success(try JSONParser.parse(bytes, lazyPath: path, limits: limits)) } catch { results.parsed = .failure(error) }
                        } else {
                            do throws(JSONError) { results.canonical = .success(try CanonicalJSON.canonicalize(bytes, path: ["signed"], limits: limits, observer: observer)) } catch { results.canonical = .failure(error) }
                        }
                    }
                    // The parser's error comes first, as when the scans ran one after the other.
                    (value, lazyObject) = try results.parsed.get()
                    canonical = try results.canonical.get()
                } else {
                    (value, lazyObject) = try JSONParser.parse(bytes, lazyPath: path, limits: limits)
                    canonical = try CanonicalJSON.canonicalize(bytes, path: ["signed"], limits: limits)
                }
            } else {
                value = try JSONParser.parse(bytes, limits: limits)
                guard let signedValue = value["signed"] else { throw JSONError.pathNotFound(path: ["signed"], found: "no \"signed\" member") }
                // Canonical output is never longer than the input; reserving avoids regrowing a large buffer.
                var out: [UInt8] = []
                out.reserveCapacity(bytes.count)
                try CanonicalJSON.encode(signedValue, into: &out)
                canonical = out
            }
        } catch {
            if case .pathNotFound = error { throw TUFError.invalidMetadata(file: file, reason: "metadata: missing field \"signed\"") }
            throw TUFError.json(file: file, error)
        }
        var f = try Fields(value, file: file, context: "metadata")
        let signedValue = try f.required("signed")
        let sigs = try f.array("signatures")
        var seen: Set<ByteKey> = []
        var signatures: [Signature] = []
        for s in sigs {
            let sig = try Signature(json: s, file: file)
            // Convention: a file whose signature list repeats a key ID is invalid.
            guard seen.insert(ByteKey(sig.keyID)).inserted else { throw TUFError.duplicateSignature(file: file, keyID: sig.keyID) }
            signatures.append(sig)
        }
        self.signatures = signatures
        unknown = f.unknown()
        receivedCanonical = canonical
        signed = try R(signed: signedValue, lazy: lazyObject, file: file)
    }

    /// The whole file as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["signatures"] = .array(signatures.map(\.json))
        o["signed"] = signed.json
        o.merge(unknown: unknown)
        return .object(o)
    }

    /// Verifies that a threshold of distinct keys of `role` signed this file.
    /// - Throws: `TUFError.thresholdNotMet`.
    public func verify(role: RoleKeys, roleName: String, keys: [(String, Key)], file: String) throws(TUFError) {
        var map: [ByteKey: Key] = [:]
        for (id, k) in keys { map[ByteKey(id)] = k }
        try verifyThreshold(message: try canonicalSigned(), signatures: signatures, role: role, roleName: roleName, keys: map, file: file)
    }
}

/// The single threshold check used for root and for every delegation.
///
/// TUF 1.0.34 §5.3.4: each key contributes at most one signature. Keys are told apart by their key
/// material, so one key listed under two key IDs counts once; signatures by keys the role does not list,
/// by unsupported keys, or that do not verify, count for nothing.
func verifyThreshold(message: [UInt8], signatures: [Signature], role: RoleKeys, roleName: String,
                     keys: [ByteKey: Key], file: String) throws(TUFError) {
    let valid = countValidSignatures(message: message, signatures: signatures, role: role, keys: keys)
    guard valid >= role.threshold else {
        throw TUFError.thresholdNotMet(file: file, role: roleName, threshold: role.threshold, valid: valid)
    }
}

/// Number of distinct keys of `role` with a valid signature.
public func countValidSignatures(message: [UInt8], signatures: [Signature], role: RoleKeys, keys: [ByteKey: Key]) -> Int {
    validSigners(message: message, signatures: signatures, role: role, keys: keys).count
}

/// The key IDs of `role` whose signatures over `message` are valid, one per distinct key (the first key
/// ID listed by the role for each key material): the single threshold count used for root, for every
/// delegation and by the repository editor.
public func validSigners(message: [UInt8], signatures: [Signature], role: RoleKeys, keys: [ByteKey: Key]) -> [String] {
    validSigners(message: message, signatures: signatures, role: role, keys: keys, streamed: [:])
}

/// As `validSigners(message:signatures:role:keys:)`, taking the verdict of a check that hashed `message`
/// while it was written (`StreamedSignatureChecks`) where it was made for the same key ID, signature text
/// and key material, over a message of this length; every other signature is checked here.
func validSigners(message: [UInt8], signatures: [Signature], role: RoleKeys, keys: [ByteKey: Key],
                  streamed: [ByteKey: StreamedSignatureChecks.Verdict]) -> [String] {
    var bySigner: [ByteKey: Signature] = [:]
    for s in signatures { bySigner[ByteKey(s.keyID)] = s }
    var counted: Set<[UInt8]> = []
    var out: [String] = []
    message.withUnsafeBytes { m in
        for id in role.keyIDs {
            let keyID = ByteKey(id)
            guard let key = keys[keyID], let sig = bySigner[keyID] else { continue }
            let identity = key.identity
            guard !counted.contains(identity) else { continue }
            let valid: Bool
            if let verdict = streamed[keyID], verdict.sig == sig.sig, verdict.identity == identity,
               verdict.messageLength == m.count, m.count >= StreamedSignatureChecks.minimumMessage {
                valid = verdict.valid
            } else {
                valid = key.verify(sig, message: m)
            }
            if valid {
                counted.insert(identity)
                out.append(id)
            }
        }
    }
    return out
}

/// What the two concurrent scans of a large metadata file produced (each written by one thread, read
/// after both ended).
private final class ConcurrentScanResults: @unchecked Sendable {
    var parsed: Result<(JSONValue, LazyJSONObject?), JSONError> = .failure(.pathNotFound(path: [], found: "not parsed"))
    var canonical: Result<[UInt8], JSONError> = .failure(.pathNotFound(path: [], found: "not encoded"))
}
