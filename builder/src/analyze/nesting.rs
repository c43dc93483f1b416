//! How deeply a file's brackets nest, found by a lexical pre-pass before swc
//! parses it: swc's parser and every visitor after it recurse once per
//! level, and 700 nested parentheses overflowed a worker's stack (an abort,
//! exit 134, for a whole build). A file nested deeper than [`MAX_NESTING`]
//! is a located diagnostic instead; everything shallower is parsed on a
//! stack sized for it ([`on_deep_stack`]).

/// Levels of `(`, `[`, `{`, template literals and `${` a file may nest.
/// Real code stays under a few dozen; 1,000 levels parse in well under
/// [`RED_ZONE`] of stack in a debug build.
pub(super) const MAX_NESTING: usize = 1000;

/// Stack an analysis may use: a thread with less left grows a new stack of
/// [`STACK_SIZE`] for it (the pool's workers are started with that much, so
/// they never do).
pub const RED_ZONE: usize = 96 << 20;
/// Size of a stack grown for an analysis (reserved, touched only as used).
pub const STACK_SIZE: usize = 256 << 20;

/// Runs `f` with at least [`RED_ZONE`] of stack left.
pub fn on_deep_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SIZE, f)
}

/// The byte offset at which nesting first passes `limit`, if it does.
///
/// Strings, comments and template text are skipped; a regular expression
/// is read as code, which can only overestimate the depth.
pub(super) fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
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
        if stack.len() > limit {
            return Some(i);
        }
        i += 1;
    }
    None
}

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
