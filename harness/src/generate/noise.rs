//! Noise files: TypeScript without gql definitions, in the reference's four
//! kinds (components, hooks, utils, types), importing each other like a real
//! app — relative imports, some through `index.ts` barrels, package imports
//! ("react", "lodash-es"), a few components importing definitions. Imports
//! only go to lower-indexed files of the same kind or to "lower" kinds
//! (types < utils < hooks < components), so the module graph has no cycles.

use std::fmt::Write as _;

use super::layout::NoiseCounts;
use super::render::header;
use super::rng::SplitMix64;
use super::ProjectFile;

/// The definitions a component may import, as a real page would.
pub(crate) struct DefinitionExports {
    pub(crate) fragments: Vec<String>,
    /// Page file stem (`operation3`) and one export of it.
    pub(crate) page_operations: Vec<(String, String)>,
}

pub(crate) fn noise_files(
    seed: u64,
    counts: &NoiseCounts,
    definitions: &DefinitionExports,
) -> Vec<ProjectFile> {
    let mut files = Vec::with_capacity(counts.total() + 4);
    for n in 0..counts.types {
        files.push(types_file(seed, n));
    }
    for n in 0..counts.utils {
        files.push(util_file(seed, n, counts));
    }
    for n in 0..counts.hooks {
        files.push(hook_file(seed, n, counts));
    }
    for n in 0..counts.components {
        files.push(component_file(seed, n, counts, definitions));
    }
    files.push(barrel("src/types/index.ts", "types", counts.types, "types"));
    files.push(barrel("src/utils/index.ts", "utils", counts.utils, "util"));
    files.push(barrel(
        "src/hooks/index.ts",
        "hooks",
        counts.hooks,
        "useHook",
    ));
    files.push(barrel(
        "src/components/index.ts",
        "components",
        counts.components,
        "Component",
    ));
    files
}

fn barrel(path: &str, what: &str, count: usize, stem: &str) -> ProjectFile {
    let mut out = header(&format!("{what} barrel (no gql)"));
    for n in 0..count {
        let _ = writeln!(out, "export * from \"./{stem}{n}\";");
    }
    ProjectFile::new(path, out)
}

/// A lower index of the same kind, if there is one.
fn earlier(rng: &mut SplitMix64, n: usize) -> Option<usize> {
    (n > 0).then(|| rng.below(n))
}

fn types_file(seed: u64, n: usize) -> ProjectFile {
    let mut rng = SplitMix64::stream(seed, "noise-types", n);
    let parent = if rng.percent(30) {
        earlier(&mut rng, n)
    } else {
        None
    };
    let mut out = header("noise types (no gql)");
    if let Some(m) = parent {
        let _ = writeln!(out, "import type {{ Entity{m}Data }} from \"./types{m}\";");
    }
    let parent_field = parent.map_or(String::new(), |m| format!("  parent?: Entity{m}Data;\n"));
    let _ = write!(
        out,
        "\nexport interface Entity{n}Data {{\n  id: string;\n  name: string;\n  value: number;\n  \
         metadata: Record<string, unknown>;\n{parent_field}}}\n\n\
         export type Entity{n}Status = \"active\" | \"inactive\" | \"pending\";\n\n\
         export interface Entity{n}Config {{\n  enabled: boolean;\n  timeout: number;\n  retries: number;\n  \
         options: Entity{n}Options;\n}}\n\n\
         export interface Entity{n}Options {{\n  verbose: boolean;\n  strict: boolean;\n  cache: boolean;\n}}\n\n\
         export type Entity{n}Handler = (data: Entity{n}Data) => Promise<void>;\n\n\
         export function isEntity{n}Data(value: unknown): value is Entity{n}Data {{\n  return (\n    \
         typeof value === \"object\" &&\n    value !== null &&\n    \"id\" in value &&\n    \
         \"name\" in value &&\n    \"value\" in value\n  );\n}}\n"
    );
    ProjectFile::new(format!("src/types/types{n}.ts"), out)
}

fn util_file(seed: u64, n: usize, counts: &NoiseCounts) -> ProjectFile {
    let mut rng = SplitMix64::stream(seed, "noise-utils", n);
    let entity_type = rng.percent(50).then(|| rng.below(counts.types));
    let through_barrel = rng.percent(50);
    let helper = if rng.percent(30) {
        earlier(&mut rng, n)
    } else {
        None
    };
    let debounced = rng.percent(10);

    let mut out = header("noise utility (no gql)");
    if debounced {
        out.push_str("import { debounce } from \"lodash-es\";\n");
    }
    if let Some(m) = entity_type {
        let module = if through_barrel {
            "../types".to_string()
        } else {
            format!("../types/types{m}")
        };
        let _ = writeln!(out, "import type {{ Entity{m}Data }} from \"{module}\";");
    }
    if let Some(k) = helper {
        let _ = writeln!(out, "import {{ formatValue{k} }} from \"./util{k}\";");
    }
    let _ = write!(
        out,
        "\nexport function formatValue{n}(value: unknown): string {{\n  \
         if (value === null || value === undefined) return \"\";\n  \
         if (typeof value === \"string\") return value;\n  \
         if (typeof value === \"number\") return value.toLocaleString();\n  \
         return JSON.stringify(value);\n}}\n\n\
         export function parseValue{n}(input: string): unknown {{\n  try {{\n    return JSON.parse(input);\n  \
         }} catch {{\n    return input;\n  }}\n}}\n\n\
         export function validateInput{n}(input: unknown): boolean {{\n  \
         return input !== null && input !== undefined;\n}}\n"
    );
    if let Some(m) = entity_type {
        let _ = write!(
            out,
            "\nexport function describeEntity{n}(entity: Entity{m}Data): string {{\n  \
             return entity.name + \" (\" + formatValue{n}(entity.value) + \")\";\n}}\n"
        );
    }
    if let Some(k) = helper {
        let _ = write!(
            out,
            "\nexport function formatTwice{n}(value: unknown): string {{\n  \
             return formatValue{k}(formatValue{n}(value));\n}}\n"
        );
    }
    if debounced {
        let _ = write!(
            out,
            "\nexport const debouncedValidate{n} = debounce(validateInput{n}, 100);\n"
        );
    }
    let _ = write!(
        out,
        "\nexport const CONSTANTS_{n} = {{\n  MAX_LENGTH: {},\n  MIN_LENGTH: 1,\n  \
         DEFAULT_VALUE: \"default\",\n}} as const;\n",
        100 + rng.below(900)
    );
    ProjectFile::new(format!("src/utils/util{n}.ts"), out)
}

fn hook_file(seed: u64, n: usize, counts: &NoiseCounts) -> ProjectFile {
    let mut rng = SplitMix64::stream(seed, "noise-hooks", n);
    let util = rng
        .percent(40)
        .then(|| (rng.below(counts.utils), rng.percent(50)));
    let entity_type = rng.percent(30).then(|| rng.below(counts.types));
    let inner_hook = if rng.percent(20) {
        earlier(&mut rng, n)
    } else {
        None
    };

    let mut out = header("noise hook (no gql)");
    out.push_str("import { useState, useEffect, useCallback, useMemo } from \"react\";\n");
    if let Some((k, through_barrel)) = util {
        let module = if through_barrel {
            "../utils".to_string()
        } else {
            format!("../utils/util{k}")
        };
        let _ = writeln!(out, "import {{ formatValue{k} }} from \"{module}\";");
    }
    if let Some(m) = entity_type {
        let _ = writeln!(
            out,
            "import type {{ Entity{m}Data }} from \"../types/types{m}\";"
        );
    }
    if let Some(j) = inner_hook {
        let _ = writeln!(out, "import {{ useHook{j} }} from \"./useHook{j}\";");
    }
    let mut extra_returns = String::new();
    let mut extra_body = String::new();
    if let Some((k, _)) = util {
        extra_body.push_str(&format!("  const label = formatValue{k}(value);\n"));
        extra_returns.push_str(", label");
    }
    if let Some(j) = inner_hook {
        extra_body.push_str(&format!("  const inner = useHook{j}(initialValue);\n"));
        extra_returns.push_str(", inner");
    }
    let _ = write!(
        out,
        "\nexport function useHook{n}<T>(initialValue: T) {{\n  \
         const [value, setValue] = useState<T>(initialValue);\n  \
         const [loading, setLoading] = useState(false);\n  \
         const [error, setError] = useState<Error | null>(null);\n{extra_body}\n  \
         const reset = useCallback(() => {{\n    setValue(initialValue);\n    setLoading(false);\n    \
         setError(null);\n  }}, [initialValue]);\n\n  \
         const update = useCallback((newValue: T) => {{\n    setLoading(true);\n    try {{\n      \
         setValue(newValue);\n    }} catch (e) {{\n      \
         setError(e instanceof Error ? e : new Error(String(e)));\n    }} finally {{\n      \
         setLoading(false);\n    }}\n  }}, []);\n\n  \
         const derived = useMemo(() => ({{\n    hasValue: value !== null && value !== undefined,\n    \
         isLoading: loading,\n    hasError: error !== null,\n  }}), [value, loading, error]);\n\n  \
         useEffect(() => {{\n    return () => {{\n      setLoading(false);\n    }};\n  }}, []);\n\n  \
         return {{ value, loading, error, reset, update, derived{extra_returns} }};\n}}\n"
    );
    if let Some(m) = entity_type {
        let _ = write!(
            out,
            "\nexport function useEntity{n}Id(entity: Entity{m}Data | null): string | null {{\n  \
             return useMemo(() => entity?.id ?? null, [entity]);\n}}\n"
        );
    }
    ProjectFile::new(format!("src/hooks/useHook{n}.ts"), out)
}

fn component_file(
    seed: u64,
    n: usize,
    counts: &NoiseCounts,
    definitions: &DefinitionExports,
) -> ProjectFile {
    let mut rng = SplitMix64::stream(seed, "noise-components", n);
    let hook = rng
        .percent(50)
        .then(|| (rng.below(counts.hooks), rng.percent(50)));
    let util = rng.percent(30).then(|| rng.below(counts.utils));
    let entity_type = rng.percent(20).then(|| rng.below(counts.types));
    let child = if rng.percent(15) {
        earlier(&mut rng, n)
    } else {
        None
    };
    // A component that renders data names the definition it reads, as pages do.
    let definition = if rng.percent(10) {
        if rng.percent(50) {
            rng.pick(&definitions.fragments)
                .map(|name| (name.clone(), "../entities".to_string()))
        } else {
            rng.pick(&definitions.page_operations)
                .map(|(stem, name)| (name.clone(), format!("../pages/{stem}")))
        }
    } else {
        None
    };

    let mut out = header("noise component (no gql)");
    out.push_str("import { useState, useCallback } from \"react\";\n");
    if let Some((j, through_barrel)) = hook {
        let module = if through_barrel {
            "../hooks".to_string()
        } else {
            format!("../hooks/useHook{j}")
        };
        let _ = writeln!(out, "import {{ useHook{j} }} from \"{module}\";");
    }
    if let Some(k) = util {
        let _ = writeln!(
            out,
            "import {{ validateInput{k} }} from \"../utils/util{k}\";"
        );
    }
    if let Some(m) = entity_type {
        let _ = writeln!(out, "import type {{ Entity{m}Data }} from \"../types\";");
    }
    if let Some(c) = child {
        let _ = writeln!(out, "import {{ Component{c} }} from \"./Component{c}\";");
    }
    if let Some((name, module)) = &definition {
        let _ = writeln!(out, "import {{ {name} }} from \"{module}\";");
    }

    let entity_prop = entity_type.map_or(String::new(), |m| format!("  entity?: Entity{m}Data;\n"));
    let mut body = String::new();
    let mut returns = String::new();
    if let Some((j, _)) = hook {
        body.push_str(&format!("  const shared = useHook{j}(title);\n"));
        returns.push_str("    shared,\n");
    }
    if let Some(k) = util {
        body.push_str(&format!("  const valid = validateInput{k}(title);\n"));
        returns.push_str("    valid,\n");
    }
    if let Some(c) = child {
        body.push_str(&format!("  const child = Component{c}({{ title }});\n"));
        returns.push_str("    child,\n");
    }
    if let Some((name, _)) = &definition {
        body.push_str(&format!("  const document = {name};\n"));
        returns.push_str("    document,\n");
    }
    let _ = write!(
        out,
        "\ninterface Props {{\n  title: string;\n  onAction?: () => void;\n{entity_prop}}}\n\n\
         export function Component{n}({{ title, onAction }}: Props) {{\n  \
         const [count, setCount] = useState(0);\n{body}\n  \
         const handleClick = useCallback(() => {{\n    setCount((c) => c + 1);\n    onAction?.();\n  \
         }}, [onAction]);\n\n  return {{\n    title,\n    count,\n    handleClick,\n{returns}  }};\n}}\n\n\
         export function useComponent{n}Logic() {{\n  \
         const [state, setState] = useState<Record<string, unknown>>({{}});\n\n  \
         return {{\n    state,\n    setState,\n    reset: () => setState({{}}),\n  }};\n}}\n"
    );
    ProjectFile::new(format!("src/components/Component{n}.ts"), out)
}
