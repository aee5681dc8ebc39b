import Foundation
import SignetCrypto
import SignetHTTP
import SignetJSON
import SignetEditor
import SignetKeys
import SignetOCI
import SignetTrust
import SignetTUF

// signet-bench: measures Signet's hot paths in a release build. The peers (openssl speed, a C loop over
// libsodium, python, curl) are run side by side by `Benchmarks/run`, which prints the comparison.

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Peak resident set size of this process in KiB (VmHWM).
func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }
    return -1
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("signet-bench: \(message)\n".utf8))
    exit(2)
}

func benchSHA256(megabytes: Int) throws {
    let size = megabytes << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { buffer.deallocate() }
    for i in stride(from: 0, to: size, by: 4096) { buffer[i] = UInt8(truncatingIfNeeded: i >> 12) }
    var best = Double.infinity
    for _ in 0..<3 {
        let t0 = now()
        let digest = try Digest.compute(.sha256, over: UnsafeRawBufferPointer(buffer))
        let dt = now() - t0
        if digest.bytes.isEmpty { fail("empty digest") }
        best = min(best, dt)
    }
    print(String(format: "sha256_one_shot bytes=%d best_seconds=%.4f bytes_per_second=%.0f", size, best, Double(size) / best))
    // Streaming in 1 MiB chunks, as downloads do.
    let t0 = now()
    let h = try StreamingDigest(.sha256)
    var offset = 0
    while offset < size {
        let end = min(size, offset + (1 << 20))
        h.update(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]))
        offset = end
    }
    _ = h.finalize()
    let dt = now() - t0
    print(String(format: "sha256_streaming bytes=%d seconds=%.4f bytes_per_second=%.0f", size, dt, Double(size) / dt))
}

func benchEd25519(seconds: Double) throws {
    let key = try Ed25519PrivateKey()
    let message = [UInt8](repeating: 0x5a, count: 256)
    let signature = try key.signature(for: message)
    let pub = key.publicKey
    var count = 0
    let t0 = now()
    var elapsed = 0.0
    try message.withUnsafeBytes { m in
        while elapsed < seconds {
            for _ in 0..<1000 {
                guard pub.isValidSignature(signature, for: m) else { throw CryptoError.library(operation: "bench", detail: "verify failed") }
            }
            count += 1000
            elapsed = now() - t0
        }
    }
    print(String(format: "ed25519_verify message_bytes=256 verifications=%d seconds=%.3f per_second=%.0f", count, elapsed, Double(count) / elapsed))
}

func benchJSON(path: String, rounds: Int) throws {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var parseBest = Double.infinity, encodeBest = Double.infinity
    var outputSize = 0
    for _ in 0..<rounds {
        let t0 = now()
        let value = try JSONParser.parse(bytes, limits: JSONLimits(maxBytes: 64 << 20))
        let t1 = now()
        let encoded = try CanonicalJSON.encode(value)
        let t2 = now()
        outputSize = encoded.count
        parseBest = min(parseBest, t1 - t0)
        encodeBest = min(encodeBest, t2 - t1)
    }
    print(String(format: "json_parse bytes=%d best_ms=%.1f", bytes.count, parseBest * 1000))
    print(String(format: "json_canonical_encode bytes=%d best_ms=%.1f", outputSize, encodeBest * 1000))
}

func benchDownload(url: String) throws {
    let transport = try CurlTransport()
    let hash = try PipelinedDigest([.sha256])
    let t0 = now()
    _ = try transport.stream(HTTPRequest(url: url), maxBodyBytes: 1 << 40) { chunk in try hash.update(chunk) }
    let digest = try hash.finalize()[0]
    let dt = now() - t0
    print(String(format: "download_sha256 bytes=%lld seconds=%.3f bytes_per_second=%.0f peak_rss_kib=%d sha256=%@",
                 hash.byteCount, dt, Double(hash.byteCount) / dt, peakRSSKiB(), digest.hex))
}

func setUpRepository(dir: String, count: Int) throws {
    let env = ProcessInfo.processInfo.environment
    let ring = try Keyring(home: Keyring.defaultHome, kdf: .unsafeMinimumForTests)
    var keys: [String: PrivateKey] = [:]
    var spec: [String: (keys: [PublicKey], threshold: Int)] = [:]
    for role in Root.topLevelRoles {
        let key = try PrivateKey.generate(.ed25519)
        let pass = SecretBytes(utf8: env[role == "root" ? "SIGNET_ROOT_PASSPHRASE" : "SIGNET_KEY_PASSPHRASE"] ?? "bench")
        try ring.add(key, passphrase: pass, labels: [("role", role)])
        keys[role] = key
        spec[role] = ([key.publicKey], 1)
    }
    let repo = try RepositoryEditor(creating: spec)
    for i in 0..<count {
        let path = "releases/component-\(i % 997)/artifact-\(i)-linux-amd64.tar.gz"
        let hex = try SHA256.hash(Array(path.utf8)).hex
        try repo.addTarget(path: path, content: nil, length: Int64(1000 + i), hashes: [("sha256", hex)])
    }
    guard case .published(let change) = try repo.publish(signers: Array(keys.values)) else { throw RepositoryError.invalidRequest("not published") }
    // The repository is written and its root pinned for this SIGNET_HOME, as `signet tuf init` does.
    let disk = DiskRepository(directory: dir, home: Keyring.defaultHome)
    try disk.write(change)
    if let first = repo.rootFile(version: 1) { try disk.pin(root: first) }
    print("repository with \(count) targets in \(dir)")
}

func benchUnlock() throws {
    let key = try PrivateKey.generate(.ed25519)
    let pass = SecretBytes(utf8: "benchmark passphrase")
    let file = try EncryptedKeyFile.seal(key, passphrase: pass)
    let t0 = now()
    _ = try EncryptedKeyFile.open(file, passphrase: pass)
    print(String(format: "argon2id_unlock opslimit=%llu memlimit_mib=%llu seconds=%.3f", KeyFileKDFParameters.moderate.opsLimit,
                 KeyFileKDFParameters.moderate.memLimit >> 20, now() - t0))
}

/// Signs tags PREFIX1 … PREFIXcount, all naming one manifest (digest, length), into REF's registry trust
/// data in one publish, with the keys of $SIGNET_HOME (passphrases from $SIGNET_KEY_PASSPHRASE and
/// $SIGNET_ROOT_PASSPHRASE). Fills a repository for the large-repository benchmarks; the registry's tags
/// themselves are not created.
func fillTags(reference: String, count: Int, prefix: String, digest: String, length: Int64) throws {
    guard let home = ProcessInfo.processInfo.environment["SIGNET_HOME"] else { fail("SIGNET_HOME is not set") }
    let env = ProcessInfo.processInfo.environment
    let keyring = try Keyring(home: home)
    let ref = try ImageReference(parsing: reference)
    let client = RegistryClient(endpoint: RegistryEndpoint(registry: ref.registry), transport: try CurlTransport())
    let publisher = TrustPublisher(trust: RegistryTrust(reference: ref, client: client, options: TrustOptions(home: home)), keyring: keyring) { entry, root in
        try keyring.unlock(entry, passphrase: SecretBytes(utf8: env[root ? "SIGNET_ROOT_PASSPHRASE" : "SIGNET_KEY_PASSPHRASE"] ?? ""))
    }
    let d = try Digest(oci: digest)
    let t0 = now()
    _ = try publisher.update { editor in
        for i in 1...count {
            try TrustPublisher.signChange(tag: "\(prefix)\(i)", digest: d, length: length, mediaType: MediaType.ociManifest)(editor)
        }
    }
    print(String(format: "fill_tags count=%d seconds=%.2f", count, now() - t0))
}

let args = Array(CommandLine.arguments.dropFirst())
guard let command = args.first else {
    fail("usage: signet-bench crypto | json FILE | download URL")
}
do {
    switch command {
    case "crypto":
        try benchSHA256(megabytes: 1024)
        try benchEd25519(seconds: 2)
    case "sha256":
        try benchSHA256(megabytes: Int(args.dropFirst().first ?? "1024") ?? 1024)
    case "ed25519":
        try benchEd25519(seconds: 2)
    case "json":
        guard args.count >= 2 else { fail("usage: signet-bench json FILE") }
        try benchJSON(path: args[1], rounds: 5)
    case "tuf-repo-setup":
        // signet-bench tuf-repo-setup DIR N: a Signet repository with N targets in top-level targets, keys in
        // $SIGNET_HOME protected by $SIGNET_KEY_PASSPHRASE / $SIGNET_ROOT_PASSPHRASE with minimum Argon2id cost.
        guard args.count >= 3, let n = Int(args[2]) else { fail("usage: signet-bench tuf-repo-setup DIR N") }
        try setUpRepository(dir: args[1], count: n)
    case "fill-tags":
        // signet-bench fill-tags REF COUNT PREFIX DIGEST LENGTH
        guard args.count >= 6, let n = Int(args[2]), n >= 1, let length = Int64(args[5]) else {
            fail("usage: signet-bench fill-tags REF COUNT PREFIX DIGEST LENGTH")
        }
        try fillTags(reference: args[1], count: n, prefix: args[3], digest: args[4], length: length)
    case "argon2id-unlock":
        try benchUnlock()
    case "json-memory":
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: args[1])))
        print("after read peak_kib=\(peakRSSKiB())")
        let v = try JSONParser.parse(bytes, limits: JSONLimits(maxBytes: 64 << 20))
        print("after parse peak_kib=\(peakRSSKiB())")
        let c = try CanonicalJSON.encode(v)
        print("after encode peak_kib=\(peakRSSKiB()) \(c.count)")
    case "download":
        guard args.count >= 2 else { fail("usage: signet-bench download URL") }
        try benchDownload(url: args[1])
    default:
        fail("unknown benchmark \(command)")
    }
} catch {
    fail("\(error)")
}
