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
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
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
