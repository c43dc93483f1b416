//! Module specifier resolution: `./x`, `../x`, `./x.ts`, `./x.js` (meaning a
//! TS file), `./dir` → `dir/index.ts`. Pure: existence is asked of a callback,
//! so discovery can ask the file system and the graph the discovered set.

use std::path::Path;

pub const TS_EXTENSIONS: [&str; 4] = [".ts", ".tsx", ".mts", ".cts"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A project file, relative to the config dir.
    File(String),
    /// A relative specifier that matched no file; the paths that were tried.
    NotFound { tried: Vec<String> },
    /// A package import (`react`, `@scope/pkg`): not followed, not an error.
    External,
    /// A relative import of a non-TypeScript asset (`./styles.css`).
    Asset,
}

pub fn is_relative(specifier: &str) -> bool {
    specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier == "."
        || specifier == ".."
}

/// Candidate files for a relative specifier, in the order they are tried.
/// `dir/specifier` with `.` and `..` folded, `/`-separated, as
/// `config::normalize_path` would give it — without going through `Path`
/// (resolution runs for every import of every file).
fn join_normalized(from_file: &str, specifier: &str) -> String {
    let dir = from_file.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut parts: Vec<&str> = Vec::with_capacity(8);
    for part in dir.split('/').chain(specifier.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// Hands each file a relative specifier may mean, as (stem, suffix), to
/// `try_path` in the order they are tried, until it returns true. The
/// lists cannot overlap: a path ends with one extension.
fn any_candidate(base: &str, mut try_path: impl FnMut(&str, &str) -> bool) -> bool {
    const FROM_JS: [(&str, &[&str]); 4] = [
        (".js", &[".ts", ".tsx"]),
        (".mjs", &[".mts"]),
        (".cjs", &[".cts"]),
        (".jsx", &[".tsx"]),
    ];
    (TS_EXTENSIONS.iter().any(|e| base.ends_with(e)) && try_path(base, ""))
        || FROM_JS.iter().any(|(js, ts)| {
            base.strip_suffix(js)
                .is_some_and(|stem| ts.iter().any(|t| try_path(stem, t)))
        })
        || TS_EXTENSIONS.iter().any(|ext| try_path(base, ext))
        || ["/index.ts", "/index.tsx"]
            .iter()
            .any(|index| try_path(base, index))
}

/// The files a relative specifier may mean, in the order they are tried.
fn candidate_paths(base: &str) -> Vec<String> {
    let mut out = Vec::new();
    any_candidate(base, |stem, suffix| {
        out.push(format!("{stem}{suffix}"));
        false
    });
    out
}

/// The first of [`candidate_paths`] that exists, built in one buffer.
fn first_existing(base: &str, exists: &impl Fn(&str) -> bool) -> Option<String> {
    let mut buf = String::with_capacity(base.len() + 10);
    let found = any_candidate(base, |stem, suffix| {
        buf.clear();
        buf.push_str(stem);
        buf.push_str(suffix);
        exists(&buf)
    });
    found.then_some(buf)
}

/// `path` (relative to `root_dir`, normalised) without a detour out of the
/// root and back in: with `root_dir` `/w/app`, `../app/src/a.ts` is
/// `src/a.ts` and `../../w/lib/x.ts` is `../lib/x.ts`. Free for a path that
/// does not start with `../` (the components are only looked at then).
pub fn fold_detour<'a>(root_dir: &Path, path: &'a str) -> std::borrow::Cow<'a, str> {
    if !path.starts_with("../") {
        return std::borrow::Cow::Borrowed(path);
    }
    let names: Vec<&str> = root_dir
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => n.to_str(),
            _ => None,
        })
        .collect();
    let parts: Vec<&str> = path.split('/').collect();
    let ups = parts.iter().take_while(|p| **p == "..").count();
    if ups > names.len() {
        return std::borrow::Cow::Borrowed(path);
    }
    let tail = &names[names.len() - ups..];
    let back_in = tail
        .iter()
        .zip(&parts[ups..])
        .take_while(|(a, b)| a == b)
        .count();
    if back_in == 0 {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out: Vec<&str> = vec![".."; ups - back_in];
    out.extend(&parts[ups + back_in..]);
    std::borrow::Cow::Owned(out.join("/"))
}

pub fn candidates(from_file: &str, specifier: &str) -> Vec<String> {
    candidate_paths(&join_normalized(from_file, specifier))
}

/// Resolves a relative specifier against the project's files; candidates are
/// tried one at a time, in one reused buffer, and the first that exists wins
/// (resolution runs for every import of every file: only the winner, or the
/// list of misses, is allocated).
pub fn resolve(from_file: &str, specifier: &str, exists: impl Fn(&str) -> bool) -> Resolution {
    resolve_in(Path::new(""), from_file, specifier, exists)
}

/// [`resolve`] in a project whose config directory is `root_dir`: a path
/// that leaves it and comes back (`../app/src/a.ts` from a file outside
/// `app/`) is named as from inside (`src/a.ts`), as every other path is.
pub fn resolve_in(
    root_dir: &Path,
    from_file: &str,
    specifier: &str,
    exists: impl Fn(&str) -> bool,
) -> Resolution {
    if !is_relative(specifier) {
        return Resolution::External;
    }
    let joined = join_normalized(from_file, specifier);
    let base = fold_detour(root_dir, &joined).into_owned();
    if let Some(found) = first_existing(&base, &exists) {
        return Resolution::File(found);
    }
    let tried = candidate_paths(&base);
    let has_asset_extension = Path::new(specifier).extension().is_some_and(|e| {
        !matches!(
            e.to_str(),
            Some("ts" | "tsx" | "mts" | "cts" | "js" | "jsx" | "mjs" | "cjs")
        )
    });
    let last = specifier.rsplit('/').next().unwrap_or("");
    if has_asset_extension && last.contains('.') && !last.starts_with('.') {
        return Resolution::Asset;
    }
    Resolution::NotFound { tried }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::normalize_path;

    #[test]
    fn a_detour_out_of_the_root_and_back_is_folded() {
        let root = Path::new("/w/app");
        assert_eq!(fold_detour(root, "../app/src/a.ts"), "src/a.ts");
        assert_eq!(fold_detour(root, "../../w/lib/x.ts"), "../lib/x.ts");
        assert_eq!(fold_detour(root, "../../w/app/x.ts"), "x.ts");
        assert_eq!(fold_detour(root, "../shared/x.ts"), "../shared/x.ts");
        assert_eq!(fold_detour(root, "src/a.ts"), "src/a.ts");
        assert_eq!(fold_detour(root, "../../../../x.ts"), "../../../../x.ts");
        let files = ["src/a.ts"];
        assert_eq!(
            resolve_in(root, "../shared/b.ts", "../app/src/a", |p| files
                .contains(&p)),
            Resolution::File("src/a.ts".into())
        );
    }

    #[test]
    fn resolves_in_order() {
        let files = ["src/a.ts", "src/dir/index.ts", "src/b.tsx"];
        let exists = |p: &str| files.contains(&p);
        assert_eq!(
            resolve("src/x.ts", "./a", exists),
            Resolution::File("src/a.ts".into())
        );
        assert_eq!(
            resolve("src/x.ts", "./a.js", exists),
            Resolution::File("src/a.ts".into())
        );
        assert_eq!(
            resolve("src/x.ts", "./a.ts", exists),
            Resolution::File("src/a.ts".into())
        );
        assert_eq!(
            resolve("src/x.ts", "./dir", exists),
            Resolution::File("src/dir/index.ts".into())
        );
        assert_eq!(
            resolve("src/deep/x.ts", "../b", exists),
            Resolution::File("src/b.tsx".into())
        );
        assert_eq!(resolve("src/x.ts", "react", exists), Resolution::External);
        assert_eq!(
            resolve("src/x.ts", "./styles.css", exists),
            Resolution::Asset
        );
        assert!(matches!(
            resolve("src/x.ts", "./nope", exists),
            Resolution::NotFound { .. }
        ));
    }

    #[test]
    fn string_normalization_agrees_with_path_normalization() {
        let froms = ["src/x.ts", "src/deep/x.ts", "x.ts", "a/b/c/d.ts"];
        let specs = [
            "./a",
            "../a",
            "../../a",
            "../../../../a",
            "./a/../b",
            "./a//b",
            ".",
            "..",
            "./a.js",
            "./a.ts",
            "../dir/./x.mjs",
            "./.hidden",
        ];
        for from in froms {
            for spec in specs {
                let dir = Path::new(from).parent().unwrap_or(Path::new(""));
                let expected = normalize_path(&dir.join(spec))
                    .to_string_lossy()
                    .replace('\\', "/");
                assert_eq!(join_normalized(from, spec), expected, "{from} + {spec}");
            }
        }
    }

    /// The buffered search tries the candidates in the listed order: for
    /// every candidate, a tree holding it and every later one resolves to it.
    #[test]
    fn the_buffered_search_agrees_with_the_candidate_list() {
        for spec in [
            "./a", "./a.js", "./a.ts", "./a.mjs", "./a.cjs", "./a.jsx", "./a.tsx", "./d/",
        ] {
            let all = candidates("src/x.ts", spec);
            for (i, expected) in all.iter().enumerate() {
                let present: Vec<&String> = all[i..].iter().collect();
                let exists = |p: &str| present.iter().any(|c| c.as_str() == p);
                assert_eq!(
                    resolve("src/x.ts", spec, exists),
                    Resolution::File(expected.clone()),
                    "{spec}: candidate {i}"
                );
            }
        }
    }

    #[test]
    fn candidates_keep_their_order_and_have_no_duplicates() {
        assert_eq!(
            candidates("src/x.ts", "./a.js"),
            vec![
                "src/a.ts",
                "src/a.tsx",
                "src/a.js.ts",
                "src/a.js.tsx",
                "src/a.js.mts",
                "src/a.js.cts",
                "src/a.js/index.ts",
                "src/a.js/index.tsx",
            ]
        );
        assert_eq!(
            candidates("src/x.ts", "./a.ts"),
            vec![
                "src/a.ts",
                "src/a.ts.ts",
                "src/a.ts.tsx",
                "src/a.ts.mts",
                "src/a.ts.cts",
                "src/a.ts/index.ts",
                "src/a.ts/index.tsx",
            ]
        );
    }
}
