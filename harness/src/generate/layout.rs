//! How many files of each kind a spec gets: the counting rules, as a pure
//! function of the spec (no randomness, no IO).
//!
//! The rule, for a spec of `files` source files and gql ratio `r`:
//!
//! 1. definition files `D = round(files · r)`, at least one per non-empty
//!    definition bucket (fragments, entity queries, page operations);
//! 2. if the spec's fragments + operations are fewer than `D`, simple entity
//!    queries are added (one per missing file) so every definition file holds
//!    at least one definition — the reported operation count includes them;
//! 3. the `D` files are split between the three buckets in proportion to
//!    their definition counts (largest remainder, each non-empty bucket at
//!    least one file, never more files than definitions); inside a bucket,
//!    definition `i` of `n` goes to file `i · files_b / n`, so definitions
//!    are spread evenly and in order;
//! 4. barrels (`src/entities/{models,queries,index}.ts`,
//!    `src/{components,hooks,utils,types}/index.ts`) hold no definition and
//!    count as noise; the remaining `files − D − barrels` noise files are
//!    split evenly between components, hooks, utils and types (earlier kinds
//!    get the remainder).
//!
//! So the total is exactly `files` and the definition-file share is exactly
//! `round(files · r) / files`.

use super::GenerateSpec;

/// Operations are assigned kinds along this fixed cycle, so the mix is the
/// same for every preset and small presets still get every kind early:
/// 8/20 page queries, 8/20 entity queries, 3/20 mutations, 1/20 subscriptions.
const OPERATION_KIND_CYCLE: [OperationKind; 20] = {
    use OperationKind::{EntityQuery as Q, Mutation as M, PageQuery as P, Subscription as S};
    [P, Q, M, P, Q, S, P, Q, M, P, Q, P, Q, M, P, Q, P, Q, Q, P]
};

/// Where an operation lives and what shape it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationKind {
    /// `src/pages/operationN.ts`: a query spreading fragments.
    PageQuery,
    /// `src/entities/queryN.ts`: a simple query like the reference's, plain
    /// fields and sometimes one spread.
    EntityQuery,
    /// `src/pages/operationN.ts`: a create or update mutation.
    Mutation,
    /// `src/pages/operationN.ts`: a single-root subscription.
    Subscription,
}

impl OperationKind {
    pub(crate) fn of_index(index: usize) -> OperationKind {
        OPERATION_KIND_CYCLE[index % OPERATION_KIND_CYCLE.len()]
    }

    pub(crate) fn lives_in_pages(self) -> bool {
        !matches!(self, OperationKind::EntityQuery)
    }
}

/// Noise file counts per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoiseCounts {
    pub(crate) components: usize,
    pub(crate) hooks: usize,
    pub(crate) utils: usize,
    pub(crate) types: usize,
}

impl NoiseCounts {
    pub(crate) fn total(&self) -> usize {
        self.components + self.hooks + self.utils + self.types
    }
}

/// Every count the renderer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Kind of every operation, in index order (spec operations first, then
    /// the added entity queries).
    pub(crate) operation_kinds: Vec<OperationKind>,
    /// Entity queries added because the spec had fewer definitions than
    /// definition files (rule 2).
    pub(crate) added_entity_queries: usize,
    pub(crate) fragment_files: usize,
    pub(crate) entity_query_files: usize,
    pub(crate) page_files: usize,
    /// Barrels: files under `src` with re-exports only.
    pub(crate) barrel_files: usize,
    pub(crate) noise: NoiseCounts,
}

impl Layout {
    pub(crate) fn definition_files(&self) -> usize {
        self.fragment_files + self.entity_query_files + self.page_files
    }

    pub(crate) fn src_files(&self) -> usize {
        self.definition_files() + self.barrel_files + self.noise.total()
    }

    pub(crate) fn entity_queries(&self) -> usize {
        self.operation_kinds
            .iter()
            .filter(|kind| !kind.lives_in_pages())
            .count()
    }

    pub(crate) fn page_operations(&self) -> usize {
        self.operation_kinds.len() - self.entity_queries()
    }

    pub(crate) fn has_entity_query_barrel(&self) -> bool {
        self.entity_query_files > 0
    }
}

/// The file of definition `index` among `count` definitions spread over `files` files.
pub(crate) fn file_of(index: usize, count: usize, files: usize) -> usize {
    (index * files).checked_div(count).unwrap_or(0)
}

/// Barrels that always exist: `src/entities/models.ts`, `src/entities/index.ts`
/// and one `index.ts` per noise kind.
const FIXED_BARRELS: usize = 6;

/// Fewest noise files: one per kind, so each noise barrel has something to export.
const MIN_NOISE_FILES: usize = 4;

/// Computes the layout, or explains why the spec cannot be laid out.
pub(crate) fn plan_layout(spec: &GenerateSpec) -> Result<Layout, String> {
    if spec.files == 0 {
        return Err("files must be at least 1".to_string());
    }
    if !(spec.gql_ratio > 0.0 && spec.gql_ratio < 1.0) {
        return Err(format!(
            "gql_ratio must be strictly between 0 and 1, got {}",
            spec.gql_ratio
        ));
    }
    if spec.object_types == 0 || spec.fragments == 0 || spec.operations == 0 {
        return Err("object_types, fragments and operations must each be at least 1".to_string());
    }

    let target_definition_files = ((spec.files as f64 * spec.gql_ratio).round() as usize).max(1);
    let spec_definitions = spec.fragments + spec.operations;
    let added_entity_queries = target_definition_files.saturating_sub(spec_definitions);

    let mut operation_kinds: Vec<OperationKind> =
        (0..spec.operations).map(OperationKind::of_index).collect();
    operation_kinds.extend(std::iter::repeat_n(
        OperationKind::EntityQuery,
        added_entity_queries,
    ));
    let entity_queries = operation_kinds
        .iter()
        .filter(|k| !k.lives_in_pages())
        .count();
    let page_operations = operation_kinds.len() - entity_queries;

    let bucket_sizes = [spec.fragments, entity_queries, page_operations];
    let non_empty_buckets = bucket_sizes.iter().filter(|size| **size > 0).count();
    let definition_files = target_definition_files.max(non_empty_buckets);
    let [fragment_files, entity_query_files, page_files] =
        split_files(definition_files, bucket_sizes);

    let barrel_files = FIXED_BARRELS + usize::from(entity_query_files > 0);
    let noise_total = spec
        .files
        .checked_sub(definition_files + barrel_files)
        .filter(|noise| *noise >= MIN_NOISE_FILES)
        .ok_or_else(|| {
            format!(
                "{} files leave no room for noise: {definition_files} definition files \
                 (gql_ratio {}) and {barrel_files} barrels need at least {} files in total; \
                 raise `files` or lower `gql_ratio`",
                spec.files,
                spec.gql_ratio,
                definition_files + barrel_files + MIN_NOISE_FILES
            )
        })?;

    let share = |kind: usize| noise_total / 4 + usize::from(kind < noise_total % 4);
    Ok(Layout {
        operation_kinds,
        added_entity_queries,
        fragment_files,
        entity_query_files,
        page_files,
        barrel_files,
        noise: NoiseCounts {
            components: share(0),
            hooks: share(1),
            utils: share(2),
            types: share(3),
        },
    })
}

/// Splits `files` between buckets in proportion to their sizes: largest
/// remainder, every non-empty bucket at least one file and at most one file
/// per definition. Requires `non-empty buckets <= files <= sum(sizes)`.
fn split_files(files: usize, sizes: [usize; 3]) -> [usize; 3] {
    let total: usize = sizes.iter().sum();
    let ideal: Vec<f64> = sizes
        .iter()
        .map(|size| files as f64 * *size as f64 / total as f64)
        .collect();
    let mut assigned = [0usize; 3];
    for bucket in 0..3 {
        if sizes[bucket] > 0 {
            assigned[bucket] = (ideal[bucket].floor() as usize).clamp(1, sizes[bucket]);
        }
    }
    // Settle the rounding: give files to the buckets furthest below their
    // share, take them from the furthest above; ties go to the lower bucket.
    loop {
        let sum: usize = assigned.iter().sum();
        if sum == files {
            return assigned;
        }
        let deficit = |bucket: usize| ideal[bucket] - assigned[bucket] as f64;
        let candidates = (0..3).filter(|&bucket| {
            if sum < files {
                assigned[bucket] < sizes[bucket]
            } else {
                assigned[bucket] > 1
            }
        });
        let chosen = if sum < files {
            candidates.fold(None, |best: Option<usize>, bucket| match best {
                Some(b) if deficit(b) >= deficit(bucket) => Some(b),
                _ => Some(bucket),
            })
        } else {
            candidates.fold(None, |best: Option<usize>, bucket| match best {
                Some(b) if deficit(b) <= deficit(bucket) => Some(b),
                _ => Some(bucket),
            })
        };
        match chosen {
            Some(bucket) if sum < files => assigned[bucket] += 1,
            Some(bucket) => assigned[bucket] -= 1,
            // Unreachable when the precondition holds; returning keeps the
            // counts consistent with the buckets rather than looping forever.
            None => return assigned,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(
        files: usize,
        ratio: f64,
        types: usize,
        fragments: usize,
        operations: usize,
    ) -> GenerateSpec {
        GenerateSpec {
            name: "t".to_string(),
            files,
            gql_ratio: ratio,
            object_types: types,
            fragments,
            operations,
            seed: 1,
            options_object_percent: 0,
        }
    }

    #[test]
    fn small_preset_layout() {
        let layout = plan_layout(&spec(50, 0.2, 10, 10, 5)).unwrap();
        assert_eq!(layout.definition_files(), 10);
        assert_eq!(layout.src_files(), 50);
        assert_eq!(layout.added_entity_queries, 0);
        assert_eq!(
            (
                layout.fragment_files,
                layout.entity_query_files,
                layout.page_files
            ),
            (7, 1, 2)
        );
    }

    #[test]
    fn every_preset_lays_out_exactly() {
        for name in GenerateSpec::presets() {
            let spec = GenerateSpec::preset(name).unwrap();
            let layout = plan_layout(&spec).unwrap();
            assert_eq!(layout.src_files(), spec.files, "{name}");
            let expected = (spec.files as f64 * spec.gql_ratio).round() as usize;
            assert_eq!(layout.definition_files(), expected, "{name}");
            assert_eq!(layout.operation_kinds.len(), spec.operations, "{name}");
        }
    }

    #[test]
    fn few_definitions_get_added_entity_queries() {
        let layout = plan_layout(&spec(400, 0.1, 5, 5, 5)).unwrap();
        assert_eq!(layout.definition_files(), 40);
        assert_eq!(layout.added_entity_queries, 30);
        assert_eq!(layout.operation_kinds.len(), 35);
        assert_eq!(layout.fragment_files, 5);
    }

    #[test]
    fn too_few_files_is_explained() {
        let err = plan_layout(&spec(12, 0.5, 3, 3, 3)).unwrap_err();
        assert!(err.contains("no room for noise"), "{err}");
        assert!(plan_layout(&spec(100, 0.0, 3, 3, 3)).is_err());
        assert!(plan_layout(&spec(100, f64::NAN, 3, 3, 3)).is_err());
        assert!(plan_layout(&spec(100, 0.1, 0, 3, 3)).is_err());
    }

    #[test]
    fn file_of_fills_every_file_in_order() {
        let files: Vec<usize> = (0..7).map(|i| file_of(i, 7, 3)).collect();
        assert_eq!(files, vec![0, 0, 0, 1, 1, 2, 2]);
    }

    proptest! {
        #[test]
        fn layout_counts_are_exact(
            files in 30usize..3000,
            ratio in 0.01f64..0.4,
            types in 1usize..200,
            fragments in 1usize..300,
            operations in 1usize..200,
        ) {
            let spec = spec(files, ratio, types, fragments, operations);
            if let Ok(layout) = plan_layout(&spec) {
                prop_assert_eq!(layout.src_files(), files);
                let target = ((files as f64 * ratio).round() as usize).max(1);
                // Only raised to give each non-empty bucket a file (at most 3).
                prop_assert!(layout.definition_files() >= target);
                prop_assert!(layout.definition_files() <= target.max(3));
                prop_assert!(layout.fragment_files >= 1 && layout.fragment_files <= fragments);
                prop_assert!(layout.entity_query_files <= layout.entity_queries());
                prop_assert!(layout.page_files <= layout.page_operations());
                prop_assert!(layout.entity_queries() == 0 || layout.entity_query_files >= 1);
                prop_assert!(layout.page_operations() == 0 || layout.page_files >= 1);
                prop_assert!(layout.noise.components >= 1 && layout.noise.types >= 1);
            }
        }
    }
}
