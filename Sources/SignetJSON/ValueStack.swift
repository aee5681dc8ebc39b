/// A growable stack of values shared by all nesting levels of one parse.
///
/// Arrays and objects push their elements here while they are being parsed and, when they close, move
/// exactly their own elements out into a new, exactly sized array. This gives one allocation per
/// container instead of repeated regrowth, and moves values instead of copying them.
final class ValueStack<Element> {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 32) {
        self.capacity = capacity
        base = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inline(__always)
    func push(_ element: consuming Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    @inline(never)
    private func grow() {
        let bigger = capacity * 2
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: bigger)
        fresh.moveInitialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = bigger
    }

    /// The elements from `start` to the top, valid until the next push or pop.
    @inline(__always)
    func elements(from start: Int) -> UnsafeBufferPointer<Element> {
        UnsafeBufferPointer(start: base + start, count: count - start)
    }

    /// The element at `index` (which must be below `count`).
    @inline(__always)
    subscript(index: Int) -> Element { base[index] }

    /// Removes the elements from `start` to the top.
    @inline(__always)
    func removeAll(from start: Int) {
        guard start < count else { return }
        (base + start).deinitialize(count: count - start)
        count = start
    }

    /// Moves the elements from `start` to the top into a new array and removes them from the stack.
    @inline(__always)
    func popArray(from start: Int) -> [Element] {
        let moved = count - start
        let source = base + start
        let result = [Element](unsafeUninitializedCapacity: moved) { buffer, initialized in
            if let target = buffer.baseAddress {
                target.moveInitialize(from: source, count: moved)
            }
            initialized = moved
        }
        count = start
        return result
    }
}
