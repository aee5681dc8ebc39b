import FoundationEssentials
import Glibc
import SignetPlatform
import SignetCrypto
import SignetFiles
import SignetKeys
import SignetOCI
import SignetTrust
import SignetTUF

let exportUsage = """
usage: signet export REF[:TAG] --output DIR|FILE.tar [--tags TAG,… | --all-tags] [--root ROOT_FILE | --trust-on-first-use] [--json]
       signet import DIR|FILE.tar DST [--root ROOT_FILE] [--policy FILE] [--json]
`export` verifies REF's trust data, then writes an OCI image layout (every platform; index.json names
each image by its tag, so skopeo and umoci read it, e.g. `skopeo copy oci:DIR:TAG …`) with the complete
trust data in DIR/signet-trust/; FILE.tar packs the layout into one tar file. Without --tags every signed
tag is exported. `import` checks an export offline — its trust data from this machine's pinned root for
the original repository (or --root), each image against what the trust data signs for its tag — then
pushes the images and the trust data, unchanged, to DST (REGISTRY/NAME) and verifies them there. Inside,
clients verify with the original's root: `signet verify DST:TAG --as ORIGINAL` (or a policy's "sameAs").
A site that cannot renew timestamps sets "exportValidityDays" in its policy (docs/policy.md): a timestamp
is then accepted for that many days after it expired; every other role must still be unexpired.
"""

/// `signet export` / `signet import`.
func runExportCommand(_ arguments: [String], importing: Bool) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["output", "tags"]),
                        boolean: registryBoolean.union(trustBoolean).union(["all-tags", "help"]))
    // The usage names the trust options each command takes; the shared block would list others.
    if args.flag("help") { printHelp(exportUsage, [.registry]); return 0 }
    return importing ? try runImport(args) : try runExport(args)
}

private func runExport(_ args: Args) throws -> Int32 {
    let ctx = try TrustContext(args)
    try args.expectPositionals(1)
    guard let output = args.value("output") else { throw UsageError("export needs --output DIR or --output FILE.tar") }
    var tags: [String]? = ctx.reference.tag.map { [$0] }
    if !args.values("tags").isEmpty {
        guard tags == nil, !args.flag("all-tags") else { throw UsageError("give the tags once: REF:TAG, --tags or --all-tags") }
        tags = args.values("tags")
    }
    let source = try ImageReference(parsing: ctx.reference.name)
    let trust = RegistryTrust(reference: source, client: ctx.trust.client, options: ctx.trust.options, events: trustEventPrinter())
    let tar = output.hasSuffix(".tar")
    let scratch = tar ? try TemporaryDirectory(prefix: "signet-export") : nil
    let directory = scratch.map { $0.path + "/layout" } ?? output
    let display = TransferProgress(verb: "export", enabled: standardErrorIsTerminal)
    let exported: [(tag: String, digest: Digest)]
    do { exported = try TrustExport.export(trust, root: ctx.root, tags: tags, to: directory, progress: display.handler) } catch {
        display.finish()
        throw error
    }
    display.finish()
    if tar { try runTar(["-cf", output, "-C", directory, "."]) }
    if args.flag("json") {
        printJSON(["repository": source.name, "output": output, "tags": exported.map { ["tag": $0.tag, "digest": $0.digest.ociString] }])
    } else {
        for e in exported { print("\(source.name):\(e.tag) -> \(e.digest)") }
        note("exported \(exported.count) signed tag\(exported.count == 1 ? "" : "s") of \(source.name) with its trust data to \(output)")
    }
    return 0
}

private func runImport(_ args: Args) throws -> Int32 {
    let input = try args.positional(0, "DIR or FILE.tar")
    let destination = try ImageReference(parsing: try args.positional(1, "DST"))
    try args.expectPositionals(2)
    guard destination.tag == nil, destination.digest == nil else { throw UsageError("DST is a repository (REGISTRY/NAME), not \(destination)") }
    if args.flag("trust-on-first-use") {
        throw UsageError("import verifies the export offline, from this machine's root for the original repository or --root ROOT_FILE; there is no registry root to trust on first use")
    }
    if args.value("as") != nil { throw UsageError("import reads the original repository from the export and keeps it; --as is not taken here (verify the copy later with --as)") }
    var directory = input
    var scratch: TemporaryDirectory?
    if input.hasSuffix(".tar") {
        let s = try TemporaryDirectory(prefix: "signet-import")
        try runTar(["-xf", input, "-C", s.path, "--no-same-owner", "--no-same-permissions"])
        directory = s.path
        scratch = s
    }
    let policy = try TrustPolicy.load(file: args.value("policy"), home: Keyring.defaultHome)
    let rule = policy?.rule(for: destination.name)
    let options = try trustOptions()
    var root = RootChoice()
    if let file = args.value("root") ?? rule?.roots.first { root.given = try RootChoice.file(file).given }
    let client = try registryOptions(args).makeClient(for: destination)
    let expired: ExpiredMetadata = rule?.exportValidityDays.map { .timestampGrace(seconds: Int64($0) * 86400) } ?? .refuse
    let display = TransferProgress(verb: "import", enabled: standardErrorIsTerminal)
    let imported: TrustExport.Imported
    do {
        imported = try TrustExport.importLayout(directory, to: destination, client: client, home: options.home, root: root, expired: expired,
                                                clock: options.clock, progress: display.handler)
    } catch {
        display.finish()
        throw error
    }
    display.finish()
    withExtendedLifetime(scratch) {}
    if args.flag("json") {
        printJSON(["destination": destination.name, "original": imported.original,
                   "tags": imported.tags.map { ["tag": $0.tag, "digest": $0.digest.ociString, "reference": "\(destination.name)@\($0.digest.ociString)"] }])
    } else {
        for t in imported.tags { print("\(destination.name):\(t.tag) -> \(t.digest)") }
        note("imported \(imported.tags.count) signed tag\(imported.tags.count == 1 ? "" : "s") of \(imported.original) into \(destination.name), verified there; clients verify with `signet verify \(destination.name):TAG --as \(imported.original)`")
    }
    return 0
}

/// Runs `tar` (GNU tar refuses member names that leave the directory).
func runTar(_ arguments: [String]) throws {
    let result: ProgramResult
    do { result = try runProgram("/bin/tar", arguments: arguments, outputLimit: nil, errorLimit: 2000) } catch {
        throw FileError.io(path: "/bin/tar", detail: "cannot run tar: \(error)")
    }
    let message = String(decoding: result.errorOutput, as: UTF8.self)
    guard result.status == 0 else {
        throw FileError.io(path: arguments.dropFirst().first ?? "tar", detail: "tar \(arguments.first ?? "") failed: \(message.trimmingWhitespace())")
    }
}
