//! Module specifier resolution: `./x`, `../x`, `./x.ts`, `./x.js` (meaning a
//! TS file), `./dir` → `dir/index.ts`. Pure: existence is asked of a callback,
//! so discovery can ask the file system and the graph the discovered set.

use std::path::Path;

use crate::config::normalize_path;

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
pub fn candidates(from_file: &str, specifier: &str) -> Vec<String> {
    let dir = Path::new(from_file).parent().unwrap_or(Path::new(""));
    let joined = normalize_path(&dir.join(specifier));
    let base = joined.to_string_lossy().replace('\\', "/");
    let mut out = Vec::new();
    if TS_EXTENSIONS.iter().any(|e| base.ends_with(e)) {
        out.push(base.clone());
    }
    for (js, ts) in [
        (".js", [".ts", ".tsx"]),
        (".mjs", [".mts", ".mts"]),
        (".cjs", [".cts", ".cts"]),
        (".jsx", [".tsx", ".tsx"]),
    ] {
        if let Some(stem) = base.strip_suffix(js) {
            for t in ts {
                let candidate = format!("{stem}{t}");
                if !out.contains(&candidate) {
                    out.push(candidate);
                }
            }
        }
    }
    for ext in TS_EXTENSIONS {
        out.push(format!("{base}{ext}"));
    }
    for ext in [".ts", ".tsx"] {
        out.push(format!("{base}/index{ext}"));
    }
    out
}

pub fn resolve(from_file: &str, specifier: &str, exists: impl Fn(&str) -> bool) -> Resolution {
    if !is_relative(specifier) {
        return Resolution::External;
    }
    let tried = candidates(from_file, specifier);
    if let Some(found) = tried.iter().find(|c| exists(c)) {
        return Resolution::File(found.clone());
    }
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
}
