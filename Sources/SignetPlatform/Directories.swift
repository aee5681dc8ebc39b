import Glibc

/// Calls `body` with the name of each entry of directory `path` (not "." and "..") and the descriptor
/// of the open directory itself, in no particular order.
/// - Returns: 0, or the `errno` of `opendir` when the directory cannot be opened.
public func forEachDirectoryEntry(_ path: String, _ body: (String, Int32) -> Void) -> Int32 {
    guard let handle = opendir(path) else { return errno }
    defer { closedir(handle) }
    let own = dirfd(handle)
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { body(name, own) }
    }
    return 0
}
