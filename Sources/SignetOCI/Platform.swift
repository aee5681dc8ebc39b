import SignetJSON

/// An image platform: operating system, CPU architecture and optional variant, as in the
/// `platform` object of an image index entry (OCI image spec `image-index.md`).
public struct Platform: Sendable, Hashable, CustomStringConvertible {
    /// Operating system, e.g. `linux`.
    public var os: String
    /// CPU architecture in Go's `GOARCH` spelling, e.g. `amd64`, `arm64`.
    public var architecture: String
    /// CPU variant, e.g. `v7` for `arm`, or `nil`.
    public var variant: String?
    /// `os.version` when the index gives one (informational; not used for matching).
    public var osVersion: String?

    /// Creates a platform. Architecture aliases (`x86_64`, `aarch64`) are normalised.
    public init(os: String, architecture: String, variant: String? = nil, osVersion: String? = nil) {
        self.os = os
        self.architecture = Platform.normalizedArchitecture(architecture)
        self.variant = variant
        self.osVersion = osVersion
    }

    /// Parses `os/architecture[/variant]`, e.g. `linux/arm64` or `linux/arm/v7`.
    ///
    /// - Throws: `OCIError.invalidArgument` for empty parts or more than three parts.
    public init(parsing text: String) throws(OCIError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw .invalidArgument("platform \(quoted(text)): expected OS/ARCHITECTURE[/VARIANT], e.g. linux/amd64 or linux/arm/v7")
        }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(),
                  variant: parts.count == 3 ? parts[2].lowercased() : nil)
    }

    /// The platform this program runs on (the default platform when pulling from an index).
    public static var host: Platform {
        #if os(Linux)
        let os = "linux"
        #elseif os(macOS)
        let os = "darwin"
        #elseif os(Windows)
        let os = "windows"
        #else
        let os = "unknown"
        #endif
        #if arch(x86_64)
        return Platform(os: os, architecture: "amd64")
        #elseif arch(arm64)
        return Platform(os: os, architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        return Platform(os: os, architecture: "arm", variant: "v7")
        #elseif arch(i386)
        return Platform(os: os, architecture: "386")
        #elseif arch(powerpc64le)
        return Platform(os: os, architecture: "ppc64le")
        #elseif arch(s390x)
        return Platform(os: os, architecture: "s390x")
        #else
        return Platform(os: os, architecture: "unknown")
        #endif
    }

    /// `os/architecture[/variant]`.
    public var description: String {
        var text = os + "/" + architecture
        if let variant { text += "/" + variant }
        return text
    }

    /// Whether an index entry for `candidate` satisfies this platform when this is what was asked
    /// for: same OS and architecture, and the same variant when this one names a variant. For
    /// `arm64` an absent variant counts as `v8`.
    public func isSatisfied(by candidate: Platform) -> Bool {
        guard os == candidate.os, architecture == candidate.architecture else { return false }
        guard let wanted = variant else { return true }
        let offered = candidate.variant ?? (candidate.architecture == "arm64" ? "v8" : nil)
        return offered == wanted
    }

    /// The `platform` JSON object.
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["architecture"] = .string(architecture)
        object["os"] = .string(os)
        if let osVersion { object["os.version"] = .string(osVersion) }
        if let variant { object["variant"] = .string(variant) }
        return .object(object)
    }

    /// Reads a `platform` object; `what` names where it was found for error messages.
    ///
    /// - Throws: `OCIError.invalidManifest` when `os` or `architecture` is missing or not a string.
    init(json: JSONValue, what: String) throws(OCIError) {
        guard case .object = json,
              let os = json["os"]?.stringValue, let architecture = json["architecture"]?.stringValue
        else {
            throw .invalidManifest(what: what, reason: "platform needs string fields \"os\" and \"architecture\"")
        }
        var variant: String? = nil
        if let value = json["variant"] {
            guard let text = value.stringValue else {
                throw .invalidManifest(what: what, reason: "platform variant must be a string")
            }
            variant = text
        }
        self.init(os: os, architecture: architecture, variant: variant, osVersion: json["os.version"]?.stringValue)
    }

    static func normalizedArchitecture(_ architecture: String) -> String {
        switch architecture {
        case "x86_64", "x86-64": return "amd64"
        case "aarch64": return "arm64"
        case "i386", "i686": return "386"
        default: return architecture
        }
    }
}
