import FoundationEssentials
import Glibc
import SignetJSON
import SignetPlatform
import SignetKeys
import SignetOCI
import SignetTrust

let policyUsage = """
usage: signet policy check REF [--policy FILE] [--json]
Explains what the trust policy decides for REF: the file read (--policy FILE, else $SIGNET_HOME/policy.json,
else /etc/signet/policy.json), the rule that applies (an exact pattern first, then the one with the most
literal characters) or the default, the decision (reject, require-signed, allow-unsigned), the trust anchors
(root files, root key IDs), the signers a tag needs, a mirror's original (sameAs), and the validity of exports.
`verify` and `pull` apply it. The format is in docs/policy.md.
"""

/// `signet policy check REF`.
func runPolicyCommand(_ arguments: [String]) throws -> Int32 {
    guard arguments.first == "check" else {
        if arguments.first == "--help" || arguments.first == "-h" { printHelp(policyUsage, []); return 0 }
        throw UsageError("unknown policy command" + (arguments.first.map { " \"\($0)\"" } ?? "") + "\n\(policyUsage)")
    }
    let args = try Args(Array(arguments.dropFirst()), valued: ["policy"], boolean: ["json", "help"])
    if args.flag("help") { printHelp(policyUsage, []); return 0 }
    let reference = try ImageReference(parsing: try args.positional(0, "REF"))
    try args.expectPositionals(1)
    guard let policy = try TrustPolicy.load(file: args.value("policy"), home: Keyring.defaultHome) else {
        if args.flag("json") { printJSON(["reference": reference.name, "policy": JSONValue.null, "decision": "none"]) }
        else { print("no trust policy ($SIGNET_HOME/policy.json, /etc/signet/policy.json): \(reference.name) is verified through its trust data as usual") }
        return 0
    }
    let rule = policy.rule(for: reference.name)
    var decision = rule?.decision ?? policy.defaultDecision
    // A copy of another repository (sameAs) carries signed content: allow-unsigned never applies to it.
    let copyOverride = rule?.sameAs != nil && decision == .allowUnsigned
    if copyOverride { decision = .requireSigned }
    // A pre-flight check: a root file the rule names must be a readable root, or every verify under the
    // policy would fail.
    var problems: [String] = []
    for file in rule?.roots ?? [] {
        do { _ = try RootChoice.file(file) } catch { problems.append("root file \(file): \(error)") }
    }
    if args.flag("json") {
        var o: [String: Any] = ["reference": reference.name, "policy": policy.source, "decision": decision.rawValue,
                                "rule": orNull(rule?.pattern)]
        if let rule {
            o["roots"] = rule.roots
            o["rootKeyIDs"] = rule.rootKeyIDs
            o["signers"] = rule.signers
            o["threshold"] = rule.threshold
            o["sameAs"] = orNull(rule.sameAs)
            o["exportValidityDays"] = orNull(rule.exportValidityDays)
        }
        o["problems"] = problems
        printJSON(o)
        return problems.isEmpty ? 0 : 4
    }
    print("\(reference.name): \(decision.rawValue) (\(rule.map { "rule \"\($0.pattern)\"" } ?? "the default") of \(policy.source))"
          + (copyOverride ? "; the rule says allow-unsigned, which does not apply to a copy (sameAs)" : ""))
    if let rule {
        if !rule.roots.isEmpty { print("  root files: \(rule.roots.joined(separator: ", "))") }
        if !rule.rootKeyIDs.isEmpty { print("  the root must be signed by its threshold of: \(rule.rootKeyIDs.joined(separator: ", "))") }
        if !rule.signers.isEmpty { print("  tags must be signed by \(rule.threshold) of: \(rule.signers.joined(separator: ", "))") }
        if let s = rule.sameAs { print("  a copy of \(s): verified with its trust data") }
        if let d = rule.exportValidityDays { print("  an imported copy's timestamp is accepted up to \(d) days after it expired (every other role must be unexpired)") }
    }
    for problem in problems { note("signet: policy problem: \(problem)") }
    return problems.isEmpty ? 0 : 4
}
