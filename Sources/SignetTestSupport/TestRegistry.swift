import Foundation

/// A throw-away `docker-registry` (distribution 2.8, Debian package) on 127.0.0.1 with its own storage
/// directory, stopped on deinit. Plain HTTP, deletes enabled.
public final class TestRegistry: @unchecked Sendable {
    /// `127.0.0.1:PORT`.
    public let address: String
    /// The storage root (`…/docker/registry/v2`), for tampering with stored blobs in tests.
    public let storage: String
    private let process: Process
    private let directory: String

    /// Starts a registry and waits until `/v2/` answers.
    public init() throws {
        directory = try TestProcesses.temporaryDirectory("signet-registry")
        let port = try TestRegistry.freePort()
        let config = """
        version: 0.1
        log: { level: error, formatter: text }
        storage:
          filesystem: { rootdirectory: \(directory)/storage }
          delete: { enabled: true }
          maintenance: { uploadpurging: { enabled: false } }
        http:
          addr: 127.0.0.1:\(port)
          secret: \(UUID().uuidString)
        """
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/config.yml"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        p.arguments = ["serve", directory + "/config.yml"]
        // The access log (one line per request) goes to stdout or stderr, whatever the log level.
        FileManager.default.createFile(atPath: directory + "/registry.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/registry.log"))
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        address = "127.0.0.1:\(port)"
        storage = directory + "/storage/docker/registry/v2"
        for _ in 0..<100 {
            if let r = try? TestProcesses.run("/usr/bin/curl", ["-fsS", "-o", "/dev/null", "http://\(address)/v2/"]), r.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        p.terminate()
        throw NSError(domain: "TestRegistry", code: 1, userInfo: [NSLocalizedDescriptionKey: "docker-registry did not start on \(address)"])
    }

    /// The requests served so far, from the access log: method, path, status and body bytes, in order.
    public func requests() -> [(method: String, path: String, status: Int, bytes: Int)] {
        guard let text = try? String(contentsOfFile: directory + "/registry.log", encoding: .utf8) else { return [] }
        var out: [(String, String, Int, Int)] = []
        for line in text.split(separator: "\n") {
            // … "GET /v2/team/app/manifests/_tuf HTTP/1.1" 200 1465 …
            guard let open = line.firstIndex(of: "\""), let close = line[line.index(after: open)...].firstIndex(of: "\"") else { continue }
            let request = line[line.index(after: open)..<close].split(separator: " ")
            let rest = line[line.index(after: close)...].split(separator: " ")
            guard request.count == 3, request[1].hasPrefix("/v2/"), rest.count >= 2, let status = Int(rest[0]) else { continue }
            out.append((String(request[0]), String(request[1]), status, Int(rest[1]) ?? 0))
        }
        return out
    }

    /// The file holding blob `hex` (a sha256 digest) in the registry's storage.
    public func blobFile(_ hex: String) -> String {
        storage + "/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// The file naming the manifest digest a tag points to.
    public func tagLink(repository: String, tag: String) -> String {
        storage + "/repositories/\(repository)/_manifests/tags/\(tag)/current/link"
    }

    static func freePort() throws -> Int {
        let r = try TestProcesses.run("/usr/bin/env", ["python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
        guard let port = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw NSError(domain: "TestRegistry", code: 2, userInfo: [NSLocalizedDescriptionKey: "no free port: \(r.stderr)"])
        }
        return port
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A throw-away notary-server + notary-signer (Debian package `notary`, memory storage, mutual TLS
/// between them) on 127.0.0.1, started by `scripts/lib/notary-stack`, stopped on deinit.
public final class NotaryStack: @unchecked Sendable {
    /// `https://127.0.0.1:PORT`.
    public let url: String
    /// The CA certificate the server's certificate is issued by.
    public let caFile: String
    /// The server's certificate and key (for a look-alike server in tests).
    public var serverCertificate: String { directory + "/certs/notary-server.crt" }
    public var serverKey: String { directory + "/certs/notary-server.key" }
    private let directory: String
    private var running = true

    /// Starts the pair and waits until the server is healthy.
    public init() throws {
        directory = try TestProcesses.temporaryDirectory("signet-notary")
        let script = TestProcesses.packageRoot.appendingPathComponent("scripts/lib/notary-stack").path
        let r = try TestProcesses.run(script, ["up", directory])
        var values: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { values[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        guard r.status == 0, let url = values["NOTARY_URL"], let ca = values["NOTARY_CA"] else {
            throw NSError(domain: "NotaryStack", code: 1, userInfo: [NSLocalizedDescriptionKey: "notary-stack up failed: \(r.stderr)"])
        }
        self.url = url
        caFile = ca
    }

    /// Stops both processes (the trust data in memory is gone).
    public func stop() {
        guard running else { return }
        running = false
        let script = TestProcesses.packageRoot.appendingPathComponent("scripts/lib/notary-stack").path
        _ = try? TestProcesses.run(script, ["down", directory])
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A static HTTPS file server on 127.0.0.1 for one directory (`scripts/lib/https-file-server.py`),
/// stopped on deinit: a server whose answers a test controls.
public final class LoopbackHTTPSFileServer: @unchecked Sendable {
    /// `https://127.0.0.1:PORT`.
    public let url: String
    private let process: Process

    /// Serves `directory` with the certificate and key given.
    public init(directory: String, certificate: String, key: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-u", TestProcesses.packageRoot.appendingPathComponent("scripts/lib/https-file-server.py").path,
                       directory, certificate, key]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("port "), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            p.terminate()
            throw NSError(domain: "LoopbackHTTPSFileServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "the HTTPS file server did not start: \(line)"])
        }
        url = "https://127.0.0.1:\(port)"
        process = p
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// `scripts/lib/immutable-tag-proxy.py` in front of a registry: refuses to overwrite existing tags, as
/// registries with immutable tags do. Stopped on deinit.
public final class ImmutableTagProxy: @unchecked Sendable {
    /// `127.0.0.1:PORT`.
    public let address: String
    private let process: Process
    private let input: Pipe

    public init(upstream: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-u", TestProcesses.packageRoot.appendingPathComponent("scripts/lib/immutable-tag-proxy.py").path, upstream]
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = input
        try p.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("PORT="), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            p.terminate()
            throw NSError(domain: "ImmutableTagProxy", code: 1, userInfo: [NSLocalizedDescriptionKey: "the proxy did not start: \(line)"])
        }
        address = "127.0.0.1:\(port)"
        process = p
        self.input = input
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
