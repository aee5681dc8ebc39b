import Foundation
import SignetJSON
import SignetOCI

let pushUsage = """
usage: signet push [options] DIR REFERENCE

Uploads the image named in DIR/index.json (an OCI image layout) to REFERENCE
([REGISTRY/]REPOSITORY[:TAG]): blobs the repository already has are skipped, blobs found in a
--mount-from repository are mounted, the rest are uploaded; then the manifest (for an index: each
child manifest, then the index) is pushed as the exact bytes stored in DIR. Prints the pushed
manifest digest, or with --json a JSON result. When index.json lists several images, the one whose
ref.name equals --ref-name (else the tag of REFERENCE) is pushed.

options:
  --ref-name NAME        which index.json entry to push
  --mount-from REPO      try a cross-repository mount from REPO on the same registry (repeatable)
  --concurrency N        blobs uploaded at the same time, 1-32 (default 4)
  --json                 print the result as JSON
\(RegistryOptions.help)
Exit status: 0 success, 1 verification failure, 2 usage error, 3 network or registry error,
4 local error (files, OCI layout, credentials).
"""

/// What `signet push` was asked to do.
struct PushInvocation {
    var layout: String
    var reference: ImageReference
    var refName: String?
    var mountFrom: [String]
    var concurrency: Int
    var json: Bool
    var registry: RegistryOptions

    init(_ arguments: [String]) throws {
        let args = try Args(arguments, valued: RegistryOptions.valued.union(["ref-name", "mount-from", "concurrency"]),
                            boolean: RegistryOptions.boolean.union(["json"]))
        layout = try args.positional(0, "DIR")
        let text = try args.positional(1, "REFERENCE")
        try args.expectPositionals(2)
        reference = try ImageReference(parsing: text)
        refName = args.value("ref-name")
        concurrency = try args.int("concurrency") ?? 4
        guard (1...32).contains(concurrency) else { throw UsageError("--concurrency must be from 1 to 32, got \(concurrency)") }
        json = args.flag("json")
        registry = try RegistryOptions(args)
        mountFrom = []
        for source in args.values("mount-from") {
            // A repository path on the destination's registry.
            let parsed = try ImageReference(parsing: reference.registry + "/" + source)
            guard parsed.registry == reference.registry, parsed.tag == nil, parsed.digest == nil else {
                throw UsageError("--mount-from \(source): expected a repository path on \(reference.registry)")
            }
            mountFrom.append(parsed.repository)
        }
    }
}

/// `signet push …`
func runPushCommand(_ arguments: [String]) throws -> Int32 {
    if arguments.isEmpty {
        note(pushUsage)
        return 2
    }
    if arguments.contains("--help") || arguments.contains("-h") {
        print(pushUsage)
        return 0
    }
    let invocation = try PushInvocation(arguments)
    let client = try invocation.registry.makeClient(for: invocation.reference)
    let display = TransferProgress(verb: "push", enabled: standardErrorIsTerminal)
    let options = PushOptions(refName: invocation.refName, mountFrom: invocation.mountFrom, concurrency: invocation.concurrency)
    let result: PushResult
    do {
        result = try ImagePusher(client: client, progress: display.handler)
            .push(layoutPath: invocation.layout, to: invocation.reference, options: options)
    } catch {
        display.finish()
        throw error
    }
    display.finish()
    if invocation.json {
        var object = JSONObject()
        object["reference"] = .string(result.reference.description)
        object["digest"] = .string(result.manifest.digest.ociString)
        object["mediaType"] = .string(result.manifest.mediaType)
        object["size"] = .integer(result.manifest.size)
        object["manifests"] = .array(result.childManifests.map { descriptorJSON($0) })
        object["blobs"] = .array(result.blobs.map { blob in
            descriptorJSON(blob.descriptor, extra: [("outcome", .string(blob.outcome.rawValue))])
        })
        printJSONValue(.object(object))
    } else {
        print(result.manifest.digest.ociString)
    }
    return 0
}
