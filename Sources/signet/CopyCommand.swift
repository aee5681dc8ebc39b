import FoundationEssentials
import Glibc
import SignetOCI
import SignetTrust

let copyUsage = """
usage: signet copy SRC DST [--tags TAG,… | --all-tags] [--root ROOT_FILE | --trust-on-first-use] [--as ORIGINAL_REPO] [--json]
Copies signed images with the trust data that signs them: SRC (REGISTRY/NAME, or REGISTRY/NAME:TAG for one
tag) is verified first (from this machine's pinned root, or --root); every manifest (all platforms of an
index) and blob is fetched by its signed digest and checked, then pushed to DST (REGISTRY/NAME; blobs
are mounted when both are on one registry); the trust data is copied unchanged, so the same root
verifies the copy as the original (`signet verify DST:TAG --as SRC`, or a policy's "sameAs"); the copy is
verified at DST before the command succeeds. Nothing is copied from a source that does not verify, and a
destination holding newer trust data of the same repository is left alone. Without --tags, every signed
tag is copied (--all-tags says so explicitly).
"""

/// `signet copy SRC DST`.
func runCopyCommand(_ arguments: [String]) throws -> Int32 {
    let args = try Args(arguments, valued: registryValued.union(trustValued).union(["tags"]),
                        boolean: registryBoolean.union(trustBoolean).union(["all-tags", "help"]))
    if args.flag("help") { printHelp(copyUsage); return 0 }
    let ctx = try TrustContext(args)
    let destination = try ImageReference(parsing: try args.positional(1, "DST"))
    try args.expectPositionals(2)
    guard destination.tag == nil, destination.digest == nil else { throw UsageError("DST is a repository (REGISTRY/NAME), not \(destination)") }
    guard ctx.reference.digest == nil else { throw UsageError("SRC names a repository or one tag, not a digest") }
    var tags: [String]?
    if let one = ctx.reference.tag { tags = [one] }
    if !args.values("tags").isEmpty {
        guard tags == nil, !args.flag("all-tags") else { throw UsageError("give the tags once: SRC:TAG, --tags or --all-tags") }
        tags = args.values("tags")
    }
    let source = try ImageReference(parsing: ctx.reference.name)
    let sourceTrust = RegistryTrust(reference: source, client: ctx.trust.client, options: ctx.trust.options, events: trustEventPrinter())
    let client = try registryOptions(args).makeClient(for: destination)
    let display = TransferProgress(verb: "copy", enabled: standardErrorIsTerminal)
    let report: TrustCopy.Report
    do {
        report = try TrustCopy(source: sourceTrust, destination: destination, destinationClient: client).run(tags: tags, root: ctx.root, progress: display.handler)
    } catch {
        display.finish()
        throw error
    }
    display.finish()
    if args.flag("json") {
        printJSON(["source": source.name, "destination": destination.name,
                   "tags": report.tags.map { ["tag": $0.tag, "digest": $0.digest.ociString, "reference": "\(destination.name)@\($0.digest.ociString)"] },
                   "blobsUploaded": report.blobsUploaded, "blobsMounted": report.blobsMounted, "blobsPresent": report.blobsPresent,
                   "trustIndex": report.trustIndex?.ociString ?? ""])
    } else {
        for t in report.tags { print("\(destination.name):\(t.tag) -> \(t.digest)") }
        note("copied \(report.tags.count) signed tag\(report.tags.count == 1 ? "" : "s") and the trust data of \(source.name) to \(destination.name), verified there; verify the copy with `signet verify \(destination.name):TAG --as \(source.name)`")
    }
    return 0
}
