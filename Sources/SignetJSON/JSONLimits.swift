/// Resource limits applied by `JSONParser` before and during parsing.
public struct JSONLimits: Sendable, Equatable {
    /// The largest document accepted, in bytes; checked before parsing starts. Default 64 MiB.
    public var maxBytes: Int
    /// The deepest nesting of arrays and objects accepted; a top-level array or object is depth 1,
    /// scalars do not count. Default 64.
    ///
    /// Parsing, canonical encoding and freeing a value each recurse once per level, using roughly
    /// 1 KiB of stack per level in optimised builds and up to 4 KiB in debug builds; keep this far
    /// below what the calling thread's stack allows (the default is).
    public var maxDepth: Int

    /// 64 MiB and 64 levels.
    public static let `default` = JSONLimits()

    /// Creates limits; the defaults are 64 MiB and 64 levels.
    public init(maxBytes: Int = 64 << 20, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }
}
