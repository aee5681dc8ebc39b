import Foundation
import SignetFiles
import XCTest

final class SignetFilesTests: XCTestCase {
    func testTemporaryDirectoriesArePrivateUnpredictableAndRemoved() throws {
        let a = try TemporaryDirectory(prefix: "signet-test")
        let b = try TemporaryDirectory(prefix: "signet-test")
        XCTAssertNotEqual(a.path, b.path)
        var info = stat()
        XCTAssertEqual(stat(a.path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertTrue(AtomicFile.name(of: a.path).hasPrefix("signet-test."))
        XCTAssertEqual(AtomicFile.name(of: a.path).count, "signet-test.".count + 8)
        try AtomicFile.write([1, 2, 3], to: a.path + "/f")
        let path = a.path
        a.remove()
        XCTAssertFalse(AtomicFile.exists(path))
        b.remove()
    }

    func testAtomicWritesReplaceWholeFilesAndLeaveNoTemporaryFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/data.json"
        try AtomicFile.write(Array("old".utf8), to: path, mode: 0o600)
        try AtomicFile.write(Array("new content".utf8), to: path, mode: 0o600)
        XCTAssertEqual(try AtomicFile.read(path, limit: 100), Array("new content".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["data.json"])
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        // A writer that is abandoned leaves nothing behind.
        let w = try AtomicFileWriter(directory: dir.path, name: "x")
        try w.write([1, 2])
        w.discard()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["data.json"])
    }

    /// Files of trees someone else wrote: a regular file is read; a link, a FIFO (which would block a
    /// plain read forever: nobody writes to it here), a directory or a device is refused at once.
    func testReadRegularFileRefusesLinksFIFOsAndDevicesWithoutWaiting() throws {
        let dir = try TemporaryDirectory()
        try AtomicFile.write(Array("{}".utf8), to: dir.path + "/plain.json")
        XCTAssertEqual(try AtomicFile.readRegularFile(dir.path + "/plain.json", limit: 10), Array("{}".utf8))
        XCTAssertNil(try AtomicFile.readRegularFile(dir.path + "/missing.json", limit: 10))
        XCTAssertEqual(symlink(dir.path + "/plain.json", dir.path + "/link.json"), 0)
        XCTAssertEqual(try AtomicFile.read(dir.path + "/link.json", limit: 10), Array("{}".utf8), "a plain read follows the link")
        XCTAssertEqual(mkfifo(dir.path + "/fifo.json", 0o600), 0)
        for (name, expected) in [("link.json", "symbolic link"), ("fifo.json", "not a regular file")] {
            XCTAssertThrowsError(try AtomicFile.readRegularFile(dir.path + "/" + name, limit: 10), name) { error in
                XCTAssertTrue("\(error)".contains(expected) && "\(error)".contains(name), "\(error)")
            }
        }
        XCTAssertThrowsError(try AtomicFile.readRegularFile(dir.path, limit: 10))
        XCTAssertThrowsError(try AtomicFile.readRegularFile("/dev/zero", limit: 10))
        XCTAssertThrowsError(try AtomicFile.readRegularFile(dir.path + "/plain.json", limit: 1)) { error in
            XCTAssertTrue("\(error)".contains("limit") || "\(error)".contains("large"), "\(error)")
        }
    }

    /// Several files written together: each replaced whole, no temporary file left. A file that cannot
    /// be written replaces none; a rename that fails leaves the files before it replaced and the ones
    /// after it not.
    func testWriteAllReplacesEachFileAndStopsAtTheFirstFailure() throws {
        let dir = try TemporaryDirectory()
        try AtomicFile.write(Array("old a".utf8), to: dir.path + "/a.json")
        try AtomicFile.writeAll([(dir.path + "/a.json", Array("new a".utf8)), (dir.path + "/b.json", Array("b".utf8))], mode: 0o600)
        XCTAssertEqual(try AtomicFile.read(dir.path + "/a.json", limit: 100), Array("new a".utf8))
        XCTAssertEqual(try AtomicFile.read(dir.path + "/b.json", limit: 100), Array("b".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a.json", "b.json"])
        var info = stat()
        XCTAssertEqual(stat(dir.path + "/b.json", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertThrowsError(try AtomicFile.writeAll([(dir.path + "/c.json", Array("c".utf8)), (dir.path + "/missing/d.json", Array("d".utf8)),
                                                      (dir.path + "/e.json", Array("e".utf8))]))
        XCTAssertNil(try AtomicFile.read(dir.path + "/c.json", limit: 100))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a.json", "b.json"])
        // The rename onto a non-empty directory fails: a.json (before it) is replaced, b.json (after) is not.
        try FileManager.default.createDirectory(atPath: dir.path + "/c.json/inside", withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.writeAll([(dir.path + "/a.json", Array("third a".utf8)), (dir.path + "/c.json", Array("c".utf8)),
                                                      (dir.path + "/b.json", Array("new b".utf8))]))
        XCTAssertEqual(try AtomicFile.read(dir.path + "/a.json", limit: 100), Array("third a".utf8))
        XCTAssertEqual(try AtomicFile.read(dir.path + "/b.json", limit: 100), Array("b".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a.json", "b.json", "c.json"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/c.json"), ["inside"])
    }

    func testBoundedReadsStopAtTheLimit() throws {
        let dir = try TemporaryDirectory()
        try AtomicFile.write([UInt8](repeating: 7, count: 1000), to: dir.path + "/big")
        XCTAssertThrowsError(try AtomicFile.read(dir.path + "/big", limit: 999)) { e in
            guard case .tooLarge(_, 999) = e as? FileError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try AtomicFile.read(dir.path + "/big", limit: 1000)?.count, 1000)
        XCTAssertNil(try AtomicFile.read(dir.path + "/absent", limit: 10))
        XCTAssertThrowsError(try AtomicFile.readExisting(dir.path + "/absent", limit: 10))
        XCTAssertThrowsError(try AtomicFile.read(dir.path, limit: 10))   // a directory
    }

    func testPercentEncodingRoundTripsAndDecodesStrictly() {
        for name in ["targets", "a/b", "..", "é", "x y%z", "\u{0}"] {
            XCTAssertEqual(PercentEncoding.decode(PercentEncoding.encode(name)), name)
        }
        XCTAssertEqual(PercentEncoding.encode("a/b.c-d_e~f"), "a%2Fb.c-d_e~f")
        XCTAssertEqual(PercentEncoding.encode("a/b", keepSlash: true), "a/b")
        XCTAssertNil(PercentEncoding.decode("%"))
        XCTAssertNil(PercentEncoding.decode("%2"))
        XCTAssertNil(PercentEncoding.decode("%zz"))
        XCTAssertNil(PercentEncoding.decode("%C3%28"))   // not UTF-8
        XCTAssertNil(PercentEncoding.fileName(for: ""))
        XCTAssertNil(PercentEncoding.fileName(for: ".."))
        XCTAssertNil(PercentEncoding.fileName(for: "."))
        XCTAssertEqual(PercentEncoding.fileName(for: "../x"), "..%2Fx")
    }

    func testUntrustedNames() {
        for good in ["a", "a/b", "release/1.0", "é/x"] { XCTAssertTrue(SafeName.isRelativePath(good), good) }
        for bad in ["", "/a", "a/../b", "..", ".", "a//b", "a/", "a\\b", "a\u{0}b"] { XCTAssertFalse(SafeName.isRelativePath(bad), bad) }
        for good in ["1.root.json", "timestamp.json", "x"] { XCTAssertTrue(SafeName.isFileName(good), good) }
        for bad in ["", ".", "..", "a/b", String(repeating: "x", count: 256)] { XCTAssertFalse(SafeName.isFileName(bad), bad) }
    }

    func testMakeDirectoryCreatesParentsWithTheExactModeAndListReadsThem() throws {
        let base = try TemporaryDirectory(prefix: "signet-test")
        let old = umask(0o077)
        defer { umask(old) }
        try AtomicFile.makeDirectory(base.path + "/a/b/c/", mode: 0o755)
        for dir in ["/a", "/a/b", "/a/b/c"] {
            var info = stat()
            XCTAssertEqual(stat(base.path + dir, &info), 0, dir)
            XCTAssertEqual(info.st_mode & 0o7777, 0o755, "\(dir): the mode asked for, whatever the umask")
        }
        // Existing: nothing changes, no error.
        try AtomicFile.makeDirectory(base.path + "/a/b", mode: 0o700)
        try AtomicFile.write(Array("x".utf8), to: base.path + "/a/file")
        XCTAssertEqual(try AtomicFile.list(base.path + "/a").sorted(), ["b", "file"])
        XCTAssertThrowsError(try AtomicFile.makeDirectory(base.path + "/a/file/d")) { error in
            XCTAssertTrue("\(error)".contains("Not a directory") || "\(error)".contains("not a directory"), "\(error)")
        }
        XCTAssertThrowsError(try AtomicFile.makeDirectory(base.path + "/a/file")) { error in
            XCTAssertTrue("\(error)".contains("exists and is not a directory"), "\(error)")
        }
        XCTAssertThrowsError(try AtomicFile.list(base.path + "/missing")) { error in
            XCTAssertTrue("\(error)".contains("No such file or directory"), "\(error)")
        }
        XCTAssertThrowsError(try AtomicFile.removeTree(base.path + "/missing")) { error in
            XCTAssertEqual((error as? FileError)?.detail, "cannot remove: No such file or directory")
        }
        try AtomicFile.removeTree(base.path + "/a")
        XCTAssertFalse(AtomicFile.exists(base.path + "/a"))
    }

    func testHomeDirectoryFollowsHOMEThenThePasswordDatabase() {
        let saved = getenv("HOME").map { String(cString: $0) }
        defer { if let saved { setenv("HOME", saved, 1) } else { unsetenv("HOME") } }
        setenv("HOME", "/srv/somewhere else", 1)
        XCTAssertEqual(Environment.homeDirectory, "/srv/somewhere else")
        setenv("HOME", "", 1)
        let fromDatabase = getpwuid(getuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } } ?? "/"
        XCTAssertEqual(Environment.homeDirectory, fromDatabase.isEmpty ? "/" : fromDatabase)
        unsetenv("HOME")
        XCTAssertEqual(Environment.homeDirectory, fromDatabase.isEmpty ? "/" : fromDatabase)
    }
}
