//! How deeply a file's brackets nest, found by a lexical pre-pass before swc
//! parses it: swc's parser and every visitor after it recurse once per
//! level, and 700 nested parentheses overflowed a worker's stack (an abort,
//! exit 134, for a whole build). A file nested deeper than [`MAX_NESTING`]
//! is a located diagnostic instead; everything shallower is parsed on a
//! stack sized for it ([`on_deep_stack`]).

/// Levels of `(`, `[`, `{`, template literals and `${` a file may nest.
/// Real code stays under a few dozen; 1,000 levels parse well within
/// [`STACK_SIZE`] even in a debug build.
pub(super) const MAX_NESTING: usize = 1000;

/// Stack one level of nesting may take in swc's parser and the walks after
/// it, with a margin: in a release build 700 nested parentheses overflowed a
/// 2 MiB worker stack (about 3 KiB a level); a debug build takes several
/// times more.
const STACK_PER_LEVEL: usize = if cfg!(debug_assertions) {
    64 << 10
} else {
    8 << 10
};
/// Stack an analysis takes besides its nesting.
const STACK_BASE: usize = 512 << 10;
/// Size of a stack grown for an analysis (reserved, touched only as used).
pub const STACK_SIZE: usize = 256 << 20;

/// Runs `f`, an analysis of a file nesting `depth` levels deep, on a stack
/// with room for it: the current one when it has enough left (every file
/// of ordinary depth, on any thread), else a grown one of [`STACK_SIZE`].
/// Sizing by the measured depth keeps shallow files from paying for a new
/// stack on threads that did not start with a large one (an embedding
/// program's, or a pool built before the builder's).
pub fn on_deep_stack<R>(depth: usize, f: impl FnOnce() -> R) -> R {
    let needed = STACK_BASE + depth.min(MAX_NESTING) * STACK_PER_LEVEL;
    stacker::maybe_grow(needed, STACK_SIZE, f)
}

/// How deeply a file nests: the deepest level reached (from
/// [`nesting_bound`]: at least that), and the byte offset at which nesting
/// first passed `limit` (the scan stops there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Nesting {
    pub deepest: usize,
    pub too_deep_at: Option<usize>,
}

/// A file with at most this many opening brackets and backticks is not
/// scanned: its nesting cannot be deeper, and a stack sized for that many
/// levels is small enough for any thread (no stack is grown for it).
const QUICK_OPENERS: usize = 64;

/// [`nesting`], or an upper bound of it for free: every level of nesting
/// opens with `(`, `[`, `{` (a `${` too) or a backtick, so a file with few
/// of those bytes nests at most that deep. Counting four byte values
/// vectorizes; the scan reads every byte with a branch (it was 2.3% of a
/// clean build's samples). Most files of a real tree take this path.
pub(super) fn nesting_bound(text: &str, limit: usize) -> Nesting {
    let openers = text
        .as_bytes()
        .iter()
        .filter(|&&c| matches!(c, b'(' | b'[' | b'{' | b'`'))
        .count();
    if openers <= QUICK_OPENERS.min(limit) {
        return Nesting {
            deepest: openers,
            too_deep_at: None,
        };
    }
    nesting(text, limit)
}

/// The offset at which nesting first passes `limit`, if it does.
#[cfg(test)]
pub(super) fn too_deep(text: &str, limit: usize) -> Option<usize> {
    nesting(text, limit).too_deep_at
}

/// Scans `text` for its nesting.
///
/// Strings, comments and template text are skipped; a regular expression
/// is read as code, which can only overestimate the depth.
pub(super) fn nesting(text: &str, limit: usize) -> Nesting {
    let b = text.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut deepest = 0;
    let mut i = 0;
    while i < b.len() {
        // Most bytes are names and spaces: skip them in a tight loop (the
        // scan runs over every byte of every file a clean build reads).
        while i < b.len() && !MAY_NEST[b[i] as usize] {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            break;
        };
        if stack.last() == Some(&b'`') {
            match c {
                b'\\' => i += 1,
                b'`' => {
                    stack.pop();
                }
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    stack.push(b'$');
                    i += 1;
                }
                _ => {}
            }
        } else {
            match c {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = find(b, i, b"\n").unwrap_or(b.len());
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = find(b, i + 2, b"*/").map_or(b.len(), |e| e + 1);
                }
                b'\'' | b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != c && b[i] != b'\n' {
                        if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                b'`' | b'(' | b'[' | b'{' => stack.push(c),
                b')' | b']' | b'}' => {
                    stack.pop();
                }
                _ => {}
            }
        }
        if stack.len() > deepest {
            deepest = stack.len();
            if deepest > limit {
                return Nesting {
                    deepest,
                    too_deep_at: Some(i),
                };
            }
        }
        i += 1;
    }
    Nesting {
        deepest,
        too_deep_at: None,
    }
}

/// The bytes [`nesting`] looks at: brackets, quotes, comment starts,
/// escapes and `${`; every other byte is skipped.
const MAY_NEST: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b"()[]{}'\"`/\\$";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library caller's thread with a small stack: a deep file still
    /// analyses (on a grown stack), a shallow one runs where it is.
    #[test]
    fn a_deep_file_analyses_on_a_small_thread_stack() {
        let depth = 900;
        let source = format!(
            "export const deep = {}1{};\n",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        let ctx = crate::phases::analyze::AnalyzerContext {
            outdir_rel: "graphql-system".into(),
            root_dir: std::path::PathBuf::new(),
            aliases: Vec::new(),
        };
        let summary = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || crate::phases::analyze::analyze_module("deep.ts", &source, &ctx))
            .unwrap()
            .join()
            .unwrap();
        assert!(summary.diagnostics.is_empty(), "{:?}", summary.diagnostics);
    }

    #[test]
    fn the_bound_never_underestimates_and_deep_files_are_still_found() {
        let shallow = "f(a[1], { b: `${c}` })";
        let bound = nesting_bound(shallow, 10);
        assert!(bound.deepest >= nesting(shallow, 10).deepest);
        assert_eq!(bound.too_deep_at, None);
        // Past the quick count, the scan decides: deep, and where.
        let deep = format!("{}1{}", "(".repeat(1001), ")".repeat(1001));
        assert_eq!(
            nesting_bound(&deep, MAX_NESTING),
            nesting(&deep, MAX_NESTING)
        );
        assert!(nesting_bound(&deep, MAX_NESTING).too_deep_at.is_some());
        // Many brackets, all shallow: the scan's exact depth.
        let wide = "f(1); ".repeat(500);
        assert_eq!(nesting_bound(&wide, MAX_NESTING).deepest, 1);
    }

    #[test]
    fn the_deepest_level_is_measured() {
        assert_eq!(nesting("f(a[1], { b: `${c}` })", 10).deepest, 4);
        assert_eq!(nesting("x", 10).deepest, 0);
    }

    #[test]
    fn counts_brackets_templates_and_interpolations_only_in_code() {
        assert_eq!(too_deep("((()))", 3), None);
        assert_eq!(too_deep("(((())))", 3), Some(3));
        assert_eq!(too_deep("`${`${x}`}`", 3), Some(5));
        assert_eq!(
            too_deep("'((((' + \"((((\" // ((((\n/* (((( */ `((((`", 1),
            None
        );
        assert_eq!(too_deep("`\\${((((`", 1), None);
        assert_eq!(too_deep("x = 'a\\'(((('", 1), None);
    }
}
