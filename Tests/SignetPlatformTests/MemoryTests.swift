import Glibc
import SignetPlatform
import XCTest

/// `adviseHugePages`, observed through the kernel's own account of the process's mappings.
final class MemoryTests: XCTestCase {
    /// The `VmFlags` of the mapping of this process that holds `address`, from /proc/self/smaps.
    private func flags(ofMappingHolding address: Int) -> [Substring]? {
        // Read to the end: a /proc file has no size, and one read gives only part of it.
        let fd = open("/proc/self/smaps", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        var inside = false
        for line in text.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            if range.count == 2, let start = Int(range[0], radix: 16), let end = Int(range[1], radix: 16) {
                inside = start <= address && address < end
            } else if inside, line.hasPrefix("VmFlags:") {
                return line.dropFirst("VmFlags:".count).split(separator: " ")
            }
        }
        return nil
    }

    /// Skips on kernels without transparent huge pages (`madvise` then refuses the advice).
    override func setUpWithError() throws {
        guard access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0 else {
            throw XCTSkip("this kernel has no transparent huge pages")
        }
    }

    private func withMapping(_ size: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) throws {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { return XCTFail("mmap failed") }
        defer { munmap(p, size) }
        try body(p)
    }

    func testOnlyWholePagesInsideTheRangeAreAdvised() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        try withMapping(8 << 20) { p in
            // A range that starts and ends inside a page: its first and last pages stay as they were.
            adviseHugePages(p + 100, count: (8 << 20) - 200)
            let start = Int(bitPattern: p)
            let head = try XCTUnwrap(flags(ofMappingHolding: start))
            let inner = try XCTUnwrap(flags(ofMappingHolding: start + page))
            let tail = try XCTUnwrap(flags(ofMappingHolding: start + (8 << 20) - page))
            XCTAssertFalse(head.contains("hg"), "the partly covered first page was advised")
            XCTAssertFalse(tail.contains("hg"), "the partly covered last page was advised")
            XCTAssertTrue(inner.contains("hg"), "the whole pages were not advised: \(inner)")
        }
    }

    func testSmallRangesAreLeftAlone() throws {
        try withMapping(2 << 20) { p in
            adviseHugePages(p, count: 2 << 20)
            let f = try XCTUnwrap(flags(ofMappingHolding: Int(bitPattern: p)))
            XCTAssertFalse(f.contains("hg"))
        }
    }

    func testAdvisedMemoryStaysUsable() throws {
        try withMapping(8 << 20) { p in
            adviseHugePages(p, count: 8 << 20)
            let bytes = p.bindMemory(to: UInt8.self, capacity: 8 << 20)
            for i in stride(from: 0, to: 8 << 20, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i >> 12) }
            for i in stride(from: 0, to: 8 << 20, by: 4096) { XCTAssertEqual(bytes[i], UInt8(truncatingIfNeeded: i >> 12)) }
        }
    }
}
