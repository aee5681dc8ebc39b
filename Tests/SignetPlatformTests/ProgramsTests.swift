import Foundation
import Glibc
import SignetPlatform
import XCTest

/// `runProgram` and `BackgroundProgram` with real programs from the base system.
final class ProgramsTests: XCTestCase {
    func testOutputStatusAndStandardErrorAreCaptured() throws {
        let r = try runProgram("/bin/sh", arguments: ["-c", "printf out; printf err >&2; exit 3"], outputLimit: 100, errorLimit: 100)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "out")
        XCTAssertEqual(String(decoding: r.errorOutput, as: UTF8.self), "err")
        XCTAssertEqual(r.status, 3)
    }

    func testInputLargerThanAPipeIsFedWhileOutputIsRead() throws {
        // 1 MiB through `cat`: both pipes fill up unless input and output are served together.
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let r = try runProgram("/bin/cat", arguments: [], input: input, outputLimit: 2 << 20, errorLimit: nil)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.output, input)
    }

    func testProgramThatIgnoresItsInputDoesNotStopTheCaller() throws {
        // It exits at once: writing the rest of the input gives EPIPE, which must not kill this process.
        let input = [UInt8](repeating: 0x41, count: 1 << 20)
        let r = try runProgram("/bin/true", arguments: [], input: input, outputLimit: 10, errorLimit: nil)
        XCTAssertEqual(r.status, 0)
    }

    func testTooMuchOutputKillsTheProgramAndIsAnError() throws {
        let start = Date()
        XCTAssertThrowsError(try runProgram("/bin/sh", arguments: ["-c", "yes; sleep 30"], outputLimit: 4096, errorLimit: nil)) { error in
            XCTAssertEqual(error as? ProgramError, .outputTooLarge(program: "/bin/sh", limit: 4096))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "the program must be killed, not waited for")
    }

    func testStandardErrorIsCutAtItsLimitAndTheProgramStillEnds() throws {
        let r = try runProgram("/bin/sh", arguments: ["-c", "head -c 100000 /dev/zero | tr '\\0' e >&2; exit 0"], outputLimit: nil, errorLimit: 10)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.errorOutput, Array("eeeeeeeeee".utf8))
    }

    func testProgramThatDoesNotEndInTimeIsKilled() throws {
        let start = Date()
        // Silent and still running; then one that closes its output but keeps running.
        for script in ["sleep 30", "exec >&- 2>&-; sleep 30"] {
            XCTAssertThrowsError(try runProgram("/bin/sh", arguments: ["-c", script], outputLimit: 100, errorLimit: 100, timeoutSeconds: 1)) { error in
                XCTAssertEqual(error as? ProgramError, .timedOut(program: "/bin/sh", seconds: 1), script)
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        // Within the time: the normal result.
        XCTAssertEqual(try runProgram("/bin/sh", arguments: ["-c", "sleep 0.1; exit 4"], outputLimit: 10, errorLimit: nil, timeoutSeconds: 5).status, 4)
    }

    func testSignalIsReportedAs128PlusItsNumber() throws {
        let r = try runProgram("/bin/sh", arguments: ["-c", "kill -TERM $$"], outputLimit: nil, errorLimit: nil)
        XCTAssertEqual(r.status, 128 + SIGTERM)
    }

    func testMissingProgramIsAClearError() {
        XCTAssertThrowsError(try runProgram("/nonexistent/program", arguments: [], outputLimit: 10, errorLimit: nil)) { error in
            guard case .cannotStart(let program, let detail) = error as? ProgramError else { return XCTFail("\(error)") }
            XCTAssertEqual(program, "/nonexistent/program")
            XCTAssertTrue(detail.contains("No such file"), detail)
        }
    }

    func testDescriptorsWithoutCloseOnExecAreNotInherited() throws {
        let fd = open("/dev/null", O_RDONLY)   // no O_CLOEXEC, as a library might open it
        XCTAssertGreaterThan(fd, 2)
        defer { close(fd) }
        let r = try runProgram("/bin/sh", arguments: ["-c", "test -e /proc/self/fd/\(fd) && echo inherited || echo closed"],
                               outputLimit: 100, errorLimit: nil)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "closed\n")
    }

    func testChildStartsWithDefaultSignalsWhateverThisProcessIgnoresOrBlocks() throws {
        // As signet does while a command runs: SIGTERM ignored (its own handler takes over), SIGPIPE
        // ignored, SIGUSR1 blocked.
        let oldTerm = signal(SIGTERM, SIG_IGN), oldPipe = signal(SIGPIPE, SIG_IGN)
        var block = sigset_t(), previous = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &block, &previous)
        defer {
            signal(SIGTERM, oldTerm)
            signal(SIGPIPE, oldPipe)
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        let r = try runProgram("/bin/grep", arguments: ["-E", "^Sig(Ign|Blk)", "/proc/self/status"], outputLimit: 1000, errorLimit: nil)
        var masks: [String: UInt64] = [:]
        for line in String(decoding: r.output, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "\t")
            if parts.count == 2 { masks[String(parts[0])] = UInt64(parts[1], radix: 16) }
        }
        // Signals 1–31 (glibc keeps its two internal real-time signals, 32 and 33, ignored).
        XCTAssertEqual(masks["SigBlk:"].map { $0 & 0x7FFF_FFFF }, 0, "\(masks)")
        XCTAssertEqual(masks["SigIgn:"].map { $0 & 0x7FFF_FFFF }, 0, "\(masks)")
        // And a helper can be stopped with SIGTERM.
        let t = try runProgram("/bin/sh", arguments: ["-c", "kill -TERM $$; echo survived"], outputLimit: 100, errorLimit: nil)
        XCTAssertEqual(t.status, 128 + SIGTERM)
        XCTAssertEqual(t.output, [])
    }

    func testArgumentsArePassedUnchanged() throws {
        let args = ["a b", "", "ünï", "$HOME", "--x=\"y\""]
        let r = try runProgram("/usr/bin/printf", arguments: ["%s|"] + args, outputLimit: 1000, errorLimit: nil)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), args.map { $0 + "|" }.joined())
    }

    func testBackgroundProgramReportsItsExit() throws {
        let running = try BackgroundProgram("/bin/sleep", arguments: ["30"])
        XCTAssertNil(running.exitStatus())
        kill(running.pid, SIGKILL)
        var status: Int32?
        for _ in 0..<200 where status == nil { status = running.exitStatus(); if status == nil { usleep(10_000) } }
        XCTAssertEqual(status, 128 + SIGKILL)

        let quick = try BackgroundProgram("/bin/sh", arguments: ["-c", "exit 7"])
        status = nil
        for _ in 0..<200 where status == nil { status = quick.exitStatus(); if status == nil { usleep(10_000) } }
        XCTAssertEqual(status, 7)
    }
}

final class LocksAndThreadsTests: XCTestCase {
    func testLockKeepsConcurrentIncrementsExact() {
        final class Counter: @unchecked Sendable { var value = 0 }
        let lock = Lock(), counter = Counter(), done = Condition()
        nonisolated(unsafe) var finished = 0
        for _ in 0..<4 {
            startThread(stackSize: 64 * 1024) {
                for _ in 0..<10_000 { lock.withLock { counter.value += 1 } }
                done.lock(); finished += 1; done.broadcast(); done.unlock()
            }
        }
        done.lock()
        while finished < 4 { done.wait() }
        done.unlock()
        XCTAssertEqual(counter.value, 40_000)
    }

    func testTryStartThreadRunsTheBodyOnAnotherThread() {
        let done = Condition()
        nonisolated(unsafe) var ran = false
        nonisolated(unsafe) var sameThread = true
        let caller = pthread_self()
        XCTAssertTrue(tryStartThread(stackSize: 64 * 1024) {
            done.lock(); ran = true; sameThread = pthread_equal(pthread_self(), caller) != 0; done.broadcast(); done.unlock()
        })
        done.lock()
        while !ran { done.wait() }
        done.unlock()
        XCTAssertFalse(sameThread)
    }

    func testWithLockRethrowsTypedErrors() {
        struct Failure: Error, Equatable {}
        let lock = Lock()
        XCTAssertThrowsError(try lock.withLock { () throws(Failure) -> Int in throw Failure() }) { XCTAssertEqual($0 as? Failure, Failure()) }
        // The lock was released: taking it again does not block.
        XCTAssertEqual(lock.withLock { 5 }, 5)
    }
}

final class TextTests: XCTestCase {
    func testTrimming() {
        XCTAssertEqual("  a b \t\n".trimmingWhitespace(), "a b")
        XCTAssertEqual(" \n a \n ".trimmingWhitespace(keepingNewlines: true), "\n a \n")
        XCTAssertEqual("\n\nx y\n".trimmingNewlines(), "x y")
        XCTAssertEqual(" \t\n ".trimmingWhitespace(), "")
        XCTAssertEqual("".trimmingNewlines(), "")
        XCTAssertEqual("abc"[...].trimmingWhitespace(), "abc")
    }

    func testPaddedCutsOrFills() {
        XCTAssertEqual("ab".padded(to: 4), "ab  ")
        XCTAssertEqual("abcdef".padded(to: 4), "abcd")
        XCTAssertEqual("abcd".padded(to: 4), "abcd")
    }

    func testOneDecimal() {
        XCTAssertEqual(formatOneDecimal(1.0), "1.0")
        XCTAssertEqual(formatOneDecimal(1.25), "1.3")
        XCTAssertEqual(formatOneDecimal(1023.94), "1023.9")
        XCTAssertEqual(formatOneDecimal(0.04), "0.0")
        XCTAssertEqual(formatOneDecimal(-2.5), "-2.5")
    }
}
