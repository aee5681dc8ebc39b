import Glibc
import SignetCrypto

/// A parsed image reference such as `registry.example:5000/team/app:1.2@sha256:…`.
///
/// Grammar (the Docker reference grammar, as implemented by CNCF Distribution's `reference`
/// package):
///
///     reference := name [ ":" tag ] [ "@" digest ]
///     name      := [ domain "/" ] path
///     domain    := host [ ":" port ]        host: DNS name, IPv4 address or "[" IPv6 "]"
///     path      := component ( "/" component )*
///     component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
///     tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
///     digest    := ( "sha256" | "sha512" ) ":" lowercase hex of the algorithm's length
///
/// The first `/`-separated part is a registry only if it contains `.` or `:`, is `localhost`, or
/// contains an upper-case letter (which a path component may not); otherwise the registry is
/// `docker.io`, and a single-component Docker Hub path gets the `library/` prefix. The registry is
/// kept in one spelling: host in lower case, port without leading zeros, no `:443` (except on
/// loopback), an IPv6 address in its RFC 5952 form, `index.docker.io`, `registry-1.docker.io` and
/// `registry.hub.docker.com` as `docker.io`; an IPv4 address must be four decimal numbers without
/// leading zeros, and not written as IPv6. The whole name (registry and path) is at most 255 characters.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry, in its one spelling (see ``canonicalRegistry(_:)``): `docker.io`, `127.0.0.1:5000`, `[::1]:5000`.
    public let registry: String
    /// The repository path inside the registry, e.g. `library/alpine`.
    public let repository: String
    /// The tag, if one was written (`nil` means none; see `tagOrDefault`).
    public let tag: String?
    /// The digest, if one was written.
    public let digest: Digest?

    /// The registry that Docker Hub references name.
    public static let dockerHub = "docker.io"

    /// Parses `text`.
    ///
    /// - Throws: `OCIError.invalidReference` naming the offending part (empty input, upper-case
    ///   or otherwise invalid path component, bad port, tag longer than 128 characters, digest with
    ///   an unsupported algorithm or wrong length, name longer than 255 characters, ...).
    public init(parsing text: String) throws(OCIError) {
        func fail(_ reason: String) -> OCIError { .invalidReference(text, reason: reason) }
        guard !text.isEmpty else { throw fail("empty reference") }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw fail("only printable ASCII without spaces is allowed")
        }
        for scheme in ["http://", "https://", "oci://", "docker://"] where text.lowercased().hasPrefix(scheme) {
            throw fail("an image reference has no scheme: write \(quoted(String(text.dropFirst(scheme.count)))) (loopback registries are reached over HTTP and others over HTTPS; --tls and --unsafe-plain-http choose otherwise)")
        }

        var rest = Substring(text)
        var digest: Digest? = nil
        if let at = rest.firstIndex(of: "@") {
            let digestText = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            digest = try ImageReference.parseDigest(digestText, reference: text)
        }

        var tag: String? = nil
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let tagText = String(rest[rest.index(after: colon)...])
            // "host:5000" alone is a name with a port, not a tag: without a slash, the text before
            // the colon is a path, so a colon is always a tag separator here.
            guard ImageReference.isValidTag(tagText) else {
                throw fail("invalid tag \(quoted(tagText)): expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
            }
            tag = tagText
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { throw fail("missing repository name") }

        var registry = ImageReference.dockerHub
        var path = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            let looksLikeHost = first.contains(".") || first.contains(":") || first == "localhost"
                || first.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A })
            if looksLikeHost {
                registry = String(first)
                path = String(rest[rest.index(after: slash)...])
                try ImageReference.validateRegistry(registry, reference: text)
            }
        }
        registry = ImageReference.canonicalRegistry(registry)
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard ImageReference.isValidPathComponent(component) else {
                if component.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) {
                    throw fail("repository name must be lowercase (component \(quoted(String(component))))")
                }
                throw fail("invalid repository path component \(quoted(String(component))): expected lowercase letters and digits separated by '.', '_', '__' or dashes")
            }
        }
        if registry == ImageReference.dockerHub && !path.contains("/") {
            path = "library/" + path
        }
        let nameLength = registry.utf8.count + 1 + path.utf8.count
        guard nameLength <= 255 else {
            throw fail("name is \(nameLength) characters long, at most 255 are allowed")
        }
        self.registry = registry
        self.repository = path
        self.tag = tag
        self.digest = digest
    }

    /// The tag, or `latest` when none was written (Docker's default).
    public var tagOrDefault: String { tag ?? "latest" }

    /// What to put after `/manifests/` in the API: the digest when there is one, else the tag.
    public var manifestReference: String { digest?.ociString ?? tagOrDefault }

    /// The host name without port or IPv6 brackets.
    public var host: String {
        if registry.hasPrefix("["), let close = registry.firstIndex(of: "]") {
            return String(registry[registry.index(after: registry.startIndex)..<close])
        }
        if let colon = registry.lastIndex(of: ":") { return String(registry[..<colon]) }
        return registry
    }

    /// Whether the registry is on the loopback interface: `localhost`, `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool { ImageReference.isLoopbackHost(host) }

    /// The same reference with another digest (and the same tag).
    public func with(digest: Digest?) -> ImageReference {
        ImageReference(trustedRegistry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// The same reference with another tag (and the same digest).
    ///
    /// - Throws: `OCIError.invalidReference` if `tag` is not a valid tag.
    public func with(tag: String?) throws(OCIError) -> ImageReference {
        if let tag, !ImageReference.isValidTag(tag) {
            throw .invalidReference(tag, reason: "invalid tag: expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
        }
        return ImageReference(trustedRegistry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// The full normalised form `registry/repository[:tag][@digest]`.
    public var description: String {
        var text = registry + "/" + repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.ociString }
        return text
    }

    /// `registry/repository` without tag or digest.
    public var name: String { registry + "/" + repository }

    private init(trustedRegistry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = trustedRegistry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    // MARK: - Grammar pieces

    /// Parses an OCI digest restricted to the algorithms registered by the OCI image spec.
    static func parseDigest(_ text: String, reference: String) throws(OCIError) -> Digest {
        let digest: Digest
        do {
            digest = try Digest(oci: text)
        } catch {
            throw .invalidReference(reference, reason: "\(error)")
        }
        guard digest.algorithm == .sha256 || digest.algorithm == .sha512 else {
            throw .invalidReference(reference, reason: "unsupported digest algorithm \(digest.algorithm.rawValue) (expected sha256 or sha512)")
        }
        return digest
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
        guard word(first) else { return false }
        return bytes.dropFirst().allSatisfy { word($0) || $0 == 0x2E || $0 == 0x2D }
    }

    /// `[a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*`.
    static func isValidPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        func alnum(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) }
        var index = 0
        func run() -> Bool {
            let start = index
            while index < bytes.count, alnum(bytes[index]) { index += 1 }
            return index > start
        }
        guard run() else { return false }
        while index < bytes.count {
            let separatorStart = index
            switch bytes[index] {
            case 0x2E:  // "."
                index += 1
            case 0x5F:  // "_" or "__"
                index += 1
                if index < bytes.count, bytes[index] == 0x5F { index += 1 }
            case 0x2D:  // "-"+
                while index < bytes.count, bytes[index] == 0x2D { index += 1 }
            default:
                return false
            }
            guard index > separatorStart, run() else { return false }
        }
        return true
    }

    /// Checks `host[:port]` where host is a DNS name, IPv4 address or bracketed IPv6 address.
    /// The one spelling of a validated registry, so that every spelling of it shares one pin, one
    /// trust binding and one policy rule: the host in lower case, the port without leading zeros,
    /// `:443` left out except on loopback (reached over HTTP), and Docker Hub's other names as
    /// `docker.io`.
    public static func canonicalRegistry(_ registry: String) -> String {
        var host = Substring(registry)
        var port: Substring?
        if let close = host.firstIndex(of: "]") {
            if host[host.index(after: close)...].hasPrefix(":") { port = host[host.index(close, offsetBy: 2)...] }
            host = host[...close]
        } else if let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        var lower = String(decoding: host.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        if lower.hasPrefix("["), let address = ImageReference.canonicalIPv6(String(lower.dropFirst().dropLast())) { lower = "[" + address + "]" }
        // A port is a number (`05000` is `5000`); anything else is kept as written, never dropped.
        var portText = port.map { p in p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) ? (Int(p).map(String.init) ?? String(p)) : String(p) }
        if portText == "443" && !isLoopbackHost(lower.hasPrefix("[") ? String(lower.dropFirst().dropLast()) : lower) { portText = nil }
        if lower == "index.docker.io" || lower == "registry-1.docker.io" || lower == "registry.hub.docker.com" { lower = dockerHub }
        return lower + (portText.map { ":" + $0 } ?? "")
    }

    /// The one text form of an IPv6 address (RFC 5952, as `inet_ntop` writes it), or nil when `text` is
    /// not an IPv6 address.
    public static func canonicalIPv6(_ text: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the IPv6 address `text` is an IPv4 address in IPv6 form (`::ffff:a.b.c.d`, or the old
    /// compatible `::a.b.c.d`), which would be a second name for an IPv4 registry.
    static func isIPv4InIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return false }
        let bytes = withUnsafeBytes(of: address) { Array($0) }
        let zeroPrefix = bytes[0..<10].allSatisfy { $0 == 0 }
        if zeroPrefix && bytes[10] == 0xFF && bytes[11] == 0xFF { return true }
        let compatible = zeroPrefix && bytes[10] == 0 && bytes[11] == 0
        return compatible && bytes[12..<15].contains { $0 != 0 }
    }

    static func validateRegistry(_ registry: String, reference: String) throws(OCIError) {
        func fail(_ reason: String) -> OCIError { .invalidReference(reference, reason: reason) }
        var host = Substring(registry)
        var port: Substring? = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw fail("IPv6 registry address without closing ']'") }
            let inside = host[host.index(after: host.startIndex)..<close]
            guard !inside.isEmpty, inside.utf8.allSatisfy({ isHexDigit($0) || $0 == 0x3A || $0 == 0x2E }), canonicalIPv6(String(inside)) != nil else {
                throw fail("invalid IPv6 registry address \(quoted(registry))")
            }
            guard !isIPv4InIPv6(String(inside)) else {
                throw fail("registry address \(quoted(registry)) is an IPv4 address written as IPv6; write it as four decimal numbers")
            }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after IPv6 address in \(quoted(registry))") }
                port = after.dropFirst()
            }
            host = host[...close]
        } else {
            if let colon = host.firstIndex(of: ":") {
                port = host[host.index(after: colon)...]
                host = host[..<colon]
            }
            guard !host.isEmpty else { throw fail("empty registry host") }
            // A host whose last label is a number is an IPv4 address, which has other spellings
            // (`127.0.0.01`, `0x7f.1`, `2130706433`); only the usual four decimal numbers are taken.
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            if let last = labels.last, let first = last.utf8.first, first >= 0x30 && first <= 0x39 {
                let canonical = labels.count == 4 && labels.allSatisfy { label in
                    !label.isEmpty && label.count <= 3 && label.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
                        && (label == "0" || !label.hasPrefix("0")) && (Int(label) ?? 256) <= 255
                }
                guard canonical else {
                    throw fail("registry address \(quoted(String(host))) is not written as four decimal numbers 0-255 without leading zeros (for example 127.0.0.1)")
                }
            }
            for label in labels {
                let bytes = Array(label.utf8)
                guard let first = bytes.first, let last = bytes.last,
                      isAlnum(first), isAlnum(last), bytes.allSatisfy({ isAlnum($0) || $0 == 0x2D })
                else {
                    throw fail("invalid registry host \(quoted(String(host))): labels are letters, digits and inner dashes")
                }
            }
        }
        if let port {
            guard !port.isEmpty, port.count <= 8, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let number = Int(port), number >= 1, number <= 65535
            else {
                throw fail("invalid registry port \(quoted(String(port))): expected 1-65535")
            }
        }
    }

    /// `localhost`, any `127.x.y.z`, or `::1`.
    static func isLoopbackHost(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" || lower == "0:0:0:0:0:0:0:1" { return true }
        let parts = lower.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) && (Int(part) ?? 256) <= 255
        }
    }
}

private func isAlnum(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
}
