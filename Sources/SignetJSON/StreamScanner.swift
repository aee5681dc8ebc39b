// One pass over a JSON document that validates it exactly as `JSONParser` does (same checks, in the same
// order, with the same errors) without building a `JSONValue` tree. Along the way it either writes the
// canonical encoding of the value at a path of object keys, or indexes the members of the object there.

/// Where the unescaped bytes of an object key are. A key written without escapes is its own source bytes,
/// so it is referred to in place (`start >= 0`, an offset into the document, just after the opening
/// quote); a key with escapes is decoded into a key arena (`start < 0`: the bytes are at `~start`
/// there, preceded by the eight-byte source offset of the key's opening quote).
struct KeyRef {
    var start: Int
    var length: Int
}

/// The source offset of the opening quote of `key`, whose escaped form (if any) is in `arena`.
func sourceOffset(of key: KeyRef, arena: UnsafePointer<UInt8>) -> Int {
    guard key.start < 0 else { return key.start - 1 }
    return UnsafeRawPointer(arena + (~key.start - 8)).loadUnaligned(as: Int.self)
}

/// One member of an object being scanned.
struct ScannedMember {
    var key: KeyRef
    /// Where the member's canonical bytes (`"key":value`, without a separating comma) start in the output;
    /// only meaningful while the object is being written. The member ends one byte (a comma) before the
    /// next one starts.
    var start: Int
}

/// One member of an indexed (lazy) object.
struct LazyMember: Sendable {
    /// The key's unescaped bytes, as in `KeyRef`: `keyStart >= 0` is an offset into the document,
    /// `keyStart < 0` is `~offset` into the object's own key arena.
    var keyStart: Int
    var keyLength: Int
    /// `Hasher` value of the key bytes.
    var hash: Int
    /// Where the value starts in the document (its first byte, after any whitespace).
    var valueStart: Int
}

/// A list that grows by fixed-size segments, so appending never copies what is already stored and at
/// most one segment has spare room.
struct SegmentedList<Element: Sendable>: Sendable {
    private static var segmentShift: Int { 12 }
    private static var segmentMask: Int { (1 << segmentShift) - 1 }
    private var segments: [[Element]] = []
    private(set) var count = 0

    @inline(__always)
    mutating func append(_ element: Element) {
        if segments.isEmpty {
            segments.append([])
        } else if count & Self.segmentMask == 0 {
            var segment: [Element] = []
            segment.reserveCapacity(Self.segmentMask + 1)
            segments.append(segment)
        }
        segments[segments.count - 1].append(element)
        count += 1
    }

    /// The element at `index` (which must be below `count`).
    @inline(__always)
    subscript(index: Int) -> Element {
        segments[index >> Self.segmentShift][index & Self.segmentMask]
    }
}

/// A reusable buffer of member positions for sorting.
final class PositionBuffer {
    private var base: UnsafeMutablePointer<Int32>
    private var capacity: Int

    init() {
        capacity = 64
        base = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    }

    deinit {
        base.deallocate()
    }

    /// Room for `count` positions; the contents are whatever was there before.
    func buffer(count: Int) -> UnsafeMutableBufferPointer<Int32> {
        if count > capacity {
            base.deallocate()
            capacity = max(count, capacity * 2)
            base = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        }
        return UnsafeMutableBufferPointer(start: base, count: count)
    }
}

/// The hash of a key's UTF-8 bytes. `Hasher` is seeded randomly per process, so a document cannot be
/// crafted to make its keys collide.
@inline(__always)
func hashKeyBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var hasher = Hasher()
    hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
    return hasher.finalize()
}

/// The state of one pass over one document: validation exactly as `JSONParser` does it (through the same
/// `JSONLexer`), plus either the canonical encoding of the value at `path` or an index of the object at
/// `path`.
///
/// Objects are handled without a tree: each member's key is kept as a `KeyRef` (in place, or decoded into
/// `keyArena`) on the shared `members` stack; when the object closes its keys are checked for repeats and,
/// when written out, the members' canonical bytes are reordered by key within `out`. Stacks and scratch
/// buffers are shared by all nesting levels and reused from one object to the next.
struct StreamScanner {
    /// What to do with the value that `path` leads to.
    enum Goal {
        /// Write its canonical encoding to `out`.
        case canonical
        /// When it is an object, record its members (`lazyMembers`, `lazyKeys`) instead of writing it.
        case index
    }

    var lexer: JSONLexer
    /// Object keys leading from the top-level value to the selected value, as UTF-8 bytes.
    let path: [[UInt8]]
    let pathStrings: [String]
    let goal: Goal

    /// Canonical bytes of the selected value (goal `.canonical`).
    let out: ByteSink
    /// Decoded bytes of the keys with escapes of the objects being scanned, innermost last.
    let keyArena = ByteSink(capacity: 256)
    /// Throwaway output for validating escaped strings that are not written anywhere.
    let scratch = ByteSink(capacity: 256)
    /// A copy of an object's members while they are written back in key order.
    let spare = ByteSink(capacity: 256)
    /// Members of the objects being scanned, innermost last.
    let members = ValueStack<ScannedMember>(capacity: 64)
    let positions = PositionBuffer()

    /// Source range of the selected value, once scanned.
    var targetRange: Range<Int>?
    /// Why `path` could not be followed, if it could not.
    var pathError: JSONError?
    /// The first number with a fraction or exponent inside the selected value (goal `.canonical`).
    var floatError: JSONError?

    /// Members of the selected object, in document order (goal `.index`).
    var lazyMembers = SegmentedList<LazyMember>()
    /// Decoded bytes of the selected object's keys that have escapes (goal `.index`).
    let lazyKeys = ByteSink(capacity: 16)
    /// Hash slots of the selected object: member position + 1, or 0 when free (goal `.index`).
    var lazyTable: [Int] = []
    /// True when the selected value was an object and has been indexed (goal `.index`).
    var indexedObject = false

    /// Told about canonical output while it is written (goal `.canonical`), if anyone follows it.
    var observer: (any CanonicalOutputObserver)?
    /// How much output `observer` was last told about.
    var announced = 0
    /// Output is announced to `observer` in steps of at least this many bytes.
    static let announceStep = 256 << 10

    init(
        base: UnsafePointer<UInt8>, count: Int, maxDepth: Int, path: [String], goal: Goal, out: ByteSink
    ) {
        self.lexer = JSONLexer(base: base, end: count, maxDepth: maxDepth)
        self.pathStrings = path
        self.path = path.map { Array($0.utf8) }
        self.goal = goal
        self.out = out
    }

    /// Where the document starts in memory.
    var base: UnsafePointer<UInt8> { lexer.base }

    // MARK: Document

    mutating func scanDocument() throws(JSONError) {
        if path.isEmpty {
            try scanTarget()
        } else {
            try scanOnPath(level: 0)
        }
        try lexer.expectEndOfDocument()
    }

    /// Scans a value that `level` keys of the path lead to (level < path.count): it should be an object
    /// holding `path[level]`.
    mutating func scanOnPath(level: Int) throws(JSONError) {
        let start = try lexer.startValue()
        let found: String
        switch start {
        case .object:
            try scanObject(emit: false, level: level)
            return
        case .array: found = "an array"
        case .string: found = "a string"
        case .trueLiteral, .falseLiteral: found = "a Boolean"
        case .nullLiteral: found = "null"
        case .number: found = "a number"
        }
        try scanValue(start, emit: false)
        notePathNotFound(level: level, found: found)
    }

    mutating func notePathNotFound(level: Int, found: String) {
        if pathError == nil {
            pathError = .pathNotFound(path: Array(pathStrings[0...level]), found: found)
        }
    }

    /// Scans the selected value.
    mutating func scanTarget() throws(JSONError) {
        lexer.skipWhitespace()
        let start = lexer.pos
        let value = try lexer.startValue()
        if goal == .index && value == .object {
            try indexObject()
            indexedObject = true
        } else {
            try scanValue(value, emit: goal == .canonical)
        }
        targetRange = start..<lexer.pos
    }

    // MARK: Values

    /// Validates one value and, when `emit` is true, writes its canonical encoding to `out`.
    @inline(__always)
    mutating func scanValue(emit: Bool) throws(JSONError) {
        try scanValue(try lexer.startValue(), emit: emit)
    }

    /// Validates the rest of a value that starts as `start` says and, when `emit` is true, writes its
    /// canonical encoding to `out`.
    mutating func scanValue(_ start: ValueStart, emit: Bool) throws(JSONError) {
        switch start {
        case .string:
            try scanStringValue(emit: emit)
        case .object:
            try scanObject(emit: emit, level: -1)
        case .array:
            try scanArray(emit: emit)
        case .number:
            try scanNumber(emit: emit)
        case .trueLiteral:
            if emit { out.append(ascii: "true") }
        case .falseLiteral:
            if emit { out.append(ascii: "false") }
        case .nullLiteral:
            if emit { out.append(ascii: "null") }
        }
    }

    mutating func scanArray(emit: Bool) throws(JSONError) {
        if try lexer.enterContainer(closedBy: Byte.closeBracket) {
            if emit { out.append(ascii: "[]") }
            return
        }
        if emit { out.append(Byte.openBracket) }
        while true {
            try scanValue(emit: emit)
            guard try lexer.continuesContainer(closedBy: Byte.closeBracket) else { break }
            if emit { out.append(Byte.comma) }
        }
        if emit { out.append(Byte.closeBracket) }
    }

    /// Validates a number like the parser and, when `emit` is true, writes it canonically: integers are
    /// already in canonical form except `-0`; a number with a fraction or exponent is remembered in
    /// `floatError`.
    @inline(__always)
    mutating func scanNumber(emit: Bool) throws(JSONError) {
        let start = lexer.pos
        let integer = try lexer.readNumber()
        guard emit else { return }
        if let integer {
            // Leading zeros are refused, so a zero is `0` or `-0`; both are written `0`.
            if integer == 0 {
                out.append(Byte.zero)
            } else {
                out.append(base + start, count: lexer.pos - start)
            }
        } else if floatError == nil {
            floatError = .floatNotAllowed(text: lexer.text(from: start, to: lexer.pos))
        }
    }

    // MARK: Objects

    @inline(__always)
    func keyBytes(_ key: KeyRef, arena: ByteSink) -> UnsafeBufferPointer<UInt8> {
        let start = key.start >= 0 ? base + key.start : UnsafePointer(arena.base) + ~key.start
        return UnsafeBufferPointer(start: start, count: key.length)
    }

    func keyString(_ key: KeyRef, arena: ByteSink) -> String {
        String(decoding: keyBytes(key, arena: arena), as: UTF8.self)
    }

    /// Validates an object. When `emit` is true its canonical encoding goes to `out`. When `level` is not
    /// -1 the object is on the path after `level` keys (and `emit` is false): its member `path[level]`
    /// is followed.
    mutating func scanObject(emit: Bool, level: Int) throws(JSONError) {
        if try lexer.enterContainer(closedBy: Byte.closeBrace) {
            if emit { out.append(ascii: "{}") }
            if level >= 0 { notePathNotFound(level: level, found: "an object without that key") }
            return
        }
        if emit { out.append(Byte.openBrace) }
        let memberBase = members.count
        let arenaBase = keyArena.count
        let regionStart = out.count
        var followed = false
        // Whether the keys so far are in strictly increasing byte order, checked while they are in cache.
        var inOrder = true
        var previous = KeyRef(start: 0, length: 0)
        repeat {
            let keyOffset = try lexer.expectKey()
            let key = try scanKey(arena: keyArena, keyOffset: keyOffset)
            // The same duplicate rule as the parser, checked at the same moments: the first eight keys
            // one by one as they are read, larger objects once complete.
            let existing = members.count - memberBase
            if existing > 0 && existing < JSONObject.indexThreshold
                && hasKey(key, from: memberBase)
            {
                throw .duplicateKey(keyString(key, arena: keyArena), offset: keyOffset)
            }
            if existing > 0 && inOrder {
                inOrder = compareBytes(keyBytes(previous, arena: keyArena), keyBytes(key, arena: keyArena)) < 0
            }
            previous = key
            try lexer.expectColon()
            var memberStart = out.count
            if emit {
                if existing > 0 {
                    out.append(Byte.comma)
                    memberStart += 1
                }
                writeKey(key)
                try scanValue(emit: true)
            } else if level >= 0 && !followed && isPathKey(key, level: level) {
                followed = true
                if level + 1 == path.count {
                    try scanTarget()
                } else {
                    try scanOnPath(level: level + 1)
                }
            } else {
                try scanValue(emit: false)
            }
            members.push(ScannedMember(key: key, start: memberStart))
            if emit, let observer, out.count &- announced >= StreamScanner.announceStep, !out.ownsMemory {
                announced = out.count
                observer.written(UnsafePointer(out.base), count: announced)
            }
        } while try lexer.continuesContainer(closedBy: Byte.closeBrace)
        let count = members.count - memberBase
        if !inOrder && (count > JSONObject.indexThreshold || emit) {
            try orderMembers(from: memberBase, count: count, regionStart: regionStart, emit: emit)
        }
        if emit { out.append(Byte.closeBrace) }
        if level >= 0 && !followed { notePathNotFound(level: level, found: "an object without that key") }
        members.removeAll(from: memberBase)
        keyArena.truncate(to: arenaBase)
    }

    /// True when `key` has the bytes of `path[level]`.
    func isPathKey(_ key: KeyRef, level: Int) -> Bool {
        let bytes = keyBytes(key, arena: keyArena)
        return path[level].withUnsafeBufferPointer { bytesEqual(bytes, $0) }
    }

    /// True when a member from `memberBase` on has the same key bytes as `key`.
    func hasKey(_ key: KeyRef, from memberBase: Int) -> Bool {
        let wanted = keyBytes(key, arena: keyArena)
        for i in memberBase..<members.count where members[i].key.length == key.length {
            if bytesEqual(keyBytes(members[i].key, arena: keyArena), wanted) { return true }
        }
        return false
    }

    /// Writes `"key":` canonically.
    @inline(__always)
    func writeKey(_ key: KeyRef) {
        out.append(Byte.quote)
        if key.start >= 0 {
            // Keys read in place have neither `"` nor `\`.
            out.append(base + key.start, count: key.length)
        } else {
            out.appendCanonicalStringBody(UnsafePointer(keyArena.base) + ~key.start, count: key.length)
        }
        out.append(Byte.quote)
        out.append(Byte.colon)
    }

    /// Sorts the members of the object just closed, whose keys are not in increasing byte order, by key
    /// bytes; reports the first repeated key (for objects with more than `JSONObject.indexThreshold`
    /// members, like the parser) and, when `emit` is true, rewrites the members written since
    /// `regionStart` in key order.
    mutating func orderMembers(from memberBase: Int, count: Int, regionStart: Int, emit: Bool) throws(JSONError) {
        var order = positions.buffer(count: count)
        let source = base
        let arena = UnsafePointer(keyArena.base)
        let list = members.elements(from: memberBase)
        @inline(__always) func key(_ position: Int32) -> UnsafeBufferPointer<UInt8> {
            let ref = list[Int(position)].key
            let start = ref.start >= 0 ? source + ref.start : arena + ~ref.start
            return UnsafeBufferPointer(start: start, count: ref.length)
        }
        for i in 0..<count { order[i] = Int32(truncatingIfNeeded: i) }
        if count <= 16 {
            // Insertion sort; stable, so equal keys stay in document order.
            for i in 1..<count {
                let moving = order[i]
                var j = i
                while j > 0 && compareBytes(key(moving), key(order[j - 1])) < 0 {
                    order[j] = order[j - 1]
                    j -= 1
                }
                order[j] = moving
            }
        } else {
            order.sort { a, b in
                let c = compareBytes(key(a), key(b))
                return c < 0 || (c == 0 && a < b)
            }
        }
        if count > JSONObject.indexThreshold {
            var duplicate = Int.max
            for i in 1..<count where compareBytes(key(order[i - 1]), key(order[i])) == 0 {
                // Equal keys are in document order, so order[i] is a later occurrence.
                duplicate = min(duplicate, Int(order[i]))
            }
            if duplicate != Int.max {
                let member = list[duplicate]
                throw .duplicateKey(
                    keyString(member.key, arena: keyArena), offset: sourceOffset(of: member.key, arena: arena))
            }
        }
        guard emit else { return }
        let length = out.count - regionStart
        spare.truncate(to: 0)
        spare.append(UnsafePointer(out.base) + regionStart, count: length)
        if let observer, regionStart < announced {
            observer.willRewrite(from: regionStart)
            announced = regionStart
        }
        out.truncate(to: regionStart)
        let copy = UnsafePointer(spare.base)
        let regionEnd = regionStart + length
        for n in 0..<count {
            if n > 0 { out.append(Byte.comma) }
            let i = Int(order[n])
            let start = list[i].start
            let end = i + 1 < count ? list[i + 1].start - 1 : regionEnd
            out.append(copy + (start - regionStart), count: end - start)
        }
    }

    /// Indexes the selected object: validates it like `scanObject` and records its members' keys and value
    /// ranges, with a hash table over the key bytes.
    mutating func indexObject() throws(JSONError) {
        if try lexer.enterContainer(closedBy: Byte.closeBrace) {
            try buildLazyTable()
            return
        }
        repeat {
            let keyOffset = try lexer.expectKey()
            let key = try scanKey(arena: lazyKeys, keyOffset: keyOffset)
            // Hashed now, while the key's bytes are in cache; the table is filled when the object closes.
            let hash = hashKeyBytes(keyBytes(key, arena: lazyKeys))
            let existing = lazyMembers.count
            if existing > 0 && existing < JSONObject.indexThreshold {
                let wanted = keyBytes(key, arena: lazyKeys)
                for j in 0..<existing where lazyMembers[j].keyLength == key.length {
                    let member = lazyMembers[j]
                    let other = keyBytes(KeyRef(start: member.keyStart, length: member.keyLength), arena: lazyKeys)
                    if bytesEqual(other, wanted) {
                        throw .duplicateKey(keyString(key, arena: lazyKeys), offset: keyOffset)
                    }
                }
            }
            try lexer.expectColon()
            lexer.skipWhitespace()
            let valueStart = lexer.pos
            try scanValue(emit: false)
            lazyMembers.append(
                LazyMember(keyStart: key.start, keyLength: key.length, hash: hash, valueStart: valueStart))
        } while try lexer.continuesContainer(closedBy: Byte.closeBrace)
        try buildLazyTable()
    }

    /// Hashes every key of the indexed object and fills `lazyTable` (open addressing, linear probing, at
    /// most half full). Inserting in document order makes the first collision the earliest repeated key,
    /// the one the parser reports.
    mutating func buildLazyTable() throws(JSONError) {
        let count = lazyMembers.count
        var size = 16
        while size < 2 * count { size *= 2 }
        let mask = size - 1
        var table = [Int](repeating: 0, count: size)
        let list = lazyMembers
        let source = base
        let arena = UnsafePointer(lazyKeys.base)
        @inline(__always) func key(_ member: LazyMember) -> UnsafeBufferPointer<UInt8> {
            let start = member.keyStart >= 0 ? source + member.keyStart : arena + ~member.keyStart
            return UnsafeBufferPointer(start: start, count: member.keyLength)
        }
        let duplicate = table.withUnsafeMutableBufferPointer { slots -> Int? in
            for i in 0..<count {
                let member = list[i]
                var slot = member.hash & mask
                while slots[slot] != 0 {
                    let other = list[slots[slot] - 1]
                    if other.hash == member.hash && bytesEqual(key(other), key(member)) { return i }
                    slot = (slot + 1) & mask
                }
                slots[slot] = i + 1
            }
            return nil
        }
        if let duplicate {
            let ref = KeyRef(start: list[duplicate].keyStart, length: list[duplicate].keyLength)
            throw .duplicateKey(keyString(ref, arena: lazyKeys), offset: sourceOffset(of: ref, arena: arena))
        }
        lazyTable = table
    }

    // MARK: Strings

    /// Validates a string value and, when `emit` is true, writes it canonically.
    @inline(__always)
    mutating func scanStringValue(emit: Bool) throws(JSONError) {
        let start = lexer.pos + 1
        let (stop, escaped) = try lexer.readPlainStringPart()
        if emit {
            out.append(Byte.quote)
            out.append(base + start, count: stop - start)
            if escaped { try lexer.readEscapedStringPart(from: stop, into: out, canonical: true) }
            out.append(Byte.quote)
        } else if escaped {
            scratch.truncate(to: 0)
            try lexer.readEscapedStringPart(from: stop, into: scratch, canonical: false)
        }
    }

    /// Validates a key (whose opening quote is at `keyOffset`, the current position) and returns where its
    /// unescaped bytes are: in place, or decoded into `arena` after the key's source offset.
    @inline(__always)
    mutating func scanKey(arena: ByteSink, keyOffset: Int) throws(JSONError) -> KeyRef {
        let start = lexer.pos + 1
        let (stop, escaped) = try lexer.readPlainStringPart()
        guard escaped else { return KeyRef(start: start, length: stop - start) }
        withUnsafeBytes(of: keyOffset) { offset in
            if let bytes = offset.baseAddress {
                arena.append(bytes.assumingMemoryBound(to: UInt8.self), count: offset.count)
            }
        }
        let arenaStart = arena.count
        arena.append(base + start, count: stop - start)
        try lexer.readEscapedStringPart(from: stop, into: arena, canonical: false)
        return KeyRef(start: ~arenaStart, length: arena.count - arenaStart)
    }
}
