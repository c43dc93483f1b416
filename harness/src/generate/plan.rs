//! What every definition selects and spreads, decided once from the spec's
//! seed: the fragment spread graph (acyclic by construction), each
//! operation's variables and root fields. Pure data; `render` turns it into
//! TypeScript.
//!
//! Validity by construction, against the schema written by `render`:
//! - the first 80% of `min(fragments, object_types)` fragments: fragment `i`
//!   on `Entity{i}`; the others on a seeded entity; `related` of
//!   `Entity{k}` returns `Entity{k-1}` (wrapping);
//! - a fragment spreads only fragments of a strictly lower *level* (0..=2),
//!   so chains are at most three fragments deep and never cycle, and only
//!   fragments with a lower index, so a fragment file imports only earlier
//!   fragment files (no module cycles either);
//! - spreads sit where the types match: at the top level for fragments on
//!   the same entity, inside `related { }` for fragments on entity `k-1`;
//! - every field that takes arguments is selected with the same arguments
//!   everywhere (`relatedList(limit: 5)`), or under an alias unique to its
//!   fragment (`modelNRelated: relatedList(limit: $modelNLimit)`), so merged
//!   selections never conflict;
//! - operation variables are exactly the ones their root fields use.

use super::layout::{file_of, Layout, OperationKind};
use super::rng::SplitMix64;
use super::GenerateSpec;

/// Scalar fields of every entity besides `id` and `name`, in schema order.
pub(crate) const OPTIONAL_SCALAR_FIELDS: [&str; 6] = [
    "description",
    "value",
    "score",
    "isActive",
    "createdAt",
    "updatedAt",
];

/// The deepest fragment level: level-2 fragments spread level ≤ 1, which
/// spread level 0, so a chain holds at most three fragments.
const MAX_LEVEL: u8 = 2;

/// How many low-index fragments are "hot": shared by many operations, like a
/// `UserFields` in a real app (and the natural target of the targeted edit).
const HOT_FRAGMENTS: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct FragmentPlan {
    pub(crate) index: usize,
    pub(crate) entity: usize,
    pub(crate) level: u8,
    /// Index of its file among fragment files.
    pub(crate) file: usize,
    pub(crate) select_name: bool,
    pub(crate) scalar_fields: Vec<&'static str>,
    /// `related { id ... }` selected; with a spread of a fragment on the related entity.
    pub(crate) related: Option<Option<usize>>,
    pub(crate) related_list: bool,
    /// Fragment variable `$model{i}Limit: Int = <default>` (fragment-arguments syntax).
    pub(crate) argument_default: Option<u32>,
    /// A fragment on the same entity spread at the top level.
    pub(crate) same_entity_spread: Option<usize>,
}

impl FragmentPlan {
    pub(crate) fn export_name(&self) -> String {
        format!("model{}", self.index)
    }

    pub(crate) fn graphql_name(&self) -> String {
        format!("Model{}Fields", self.index)
    }

    /// Fragments this one spreads directly.
    pub(crate) fn spreads(&self) -> impl Iterator<Item = usize> + '_ {
        self.related
            .flatten()
            .into_iter()
            .chain(self.same_entity_spread)
    }
}

/// A GraphQL variable an operation declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Variable {
    pub(crate) name: &'static str,
    pub(crate) graphql_type: &'static str,
}

/// One root field of an operation, its arguments bound to same-named variables.
#[derive(Debug, Clone)]
pub(crate) struct RootSelection {
    pub(crate) field: String,
    pub(crate) arguments: Vec<&'static str>,
    pub(crate) plain_fields: Vec<&'static str>,
    pub(crate) spreads: Vec<usize>,
    /// Fragments on the related entity, spread inside `related { }`.
    pub(crate) related_spreads: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct OperationPlan {
    pub(crate) index: usize,
    pub(crate) kind: OperationKind,
    /// Index of its file among entity-query files or page files.
    pub(crate) file: usize,
    pub(crate) variables: Vec<Variable>,
    pub(crate) roots: Vec<RootSelection>,
}

impl OperationPlan {
    pub(crate) fn export_name(&self) -> String {
        match self.kind {
            OperationKind::PageQuery => format!("operation{}", self.index),
            OperationKind::EntityQuery => format!("query{}", self.index),
            OperationKind::Mutation => format!("mutation{}", self.index),
            OperationKind::Subscription => format!("subscription{}", self.index),
        }
    }

    pub(crate) fn graphql_name(&self) -> String {
        match self.kind {
            OperationKind::PageQuery => format!("Operation{}", self.index),
            OperationKind::EntityQuery => format!("Query{}", self.index),
            OperationKind::Mutation => format!("Mutation{}", self.index),
            OperationKind::Subscription => format!("Subscription{}", self.index),
        }
    }

    /// The callback parameter and builder name: `query`, `mutation`, `subscription`.
    pub(crate) fn builder(&self) -> &'static str {
        match self.kind {
            OperationKind::PageQuery | OperationKind::EntityQuery => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        }
    }

    /// Every fragment spread directly, in order of first appearance.
    pub(crate) fn spreads(&self) -> Vec<usize> {
        let mut all = Vec::new();
        for root in &self.roots {
            for fragment in root.spreads.iter().chain(&root.related_spreads) {
                if !all.contains(fragment) {
                    all.push(*fragment);
                }
            }
        }
        all
    }
}

/// All definitions of a project.
#[derive(Debug, Clone)]
pub(crate) struct DefinitionPlan {
    /// File stem of each fragment file (`model5`): named after the first
    /// fragment it holds, so a one-fragment file `modelN.ts` holds `modelN`
    /// as in the reference. Likewise `queryN` and `operationN` below.
    pub(crate) fragment_file_stems: Vec<String>,
    pub(crate) entity_query_file_stems: Vec<String>,
    pub(crate) page_file_stems: Vec<String>,
    pub(crate) fragments: Vec<FragmentPlan>,
    pub(crate) operations: Vec<OperationPlan>,
}

impl DefinitionPlan {
    /// The entity that `related` of `Entity{entity}` returns.
    pub(crate) fn related_entity(object_types: usize, entity: usize) -> usize {
        (entity + object_types - 1) % object_types
    }
}

pub(crate) fn plan_definitions(spec: &GenerateSpec, layout: &Layout) -> DefinitionPlan {
    let types = spec.object_types;
    let mut fragments: Vec<FragmentPlan> = Vec::with_capacity(spec.fragments);
    // Fragments on each entity, in index order, filled as fragments are planned.
    let mut by_entity: Vec<Vec<usize>> = vec![Vec::new(); types];

    // The first fragments follow the entities one to one (like the
    // reference); the rest land on seeded entities, so some entities have
    // several fragments (same-entity spreads) and some none.
    let one_to_one = (spec.fragments.min(types) * 4 / 5).max(1);
    for index in 0..spec.fragments {
        let mut rng = SplitMix64::stream(spec.seed, "fragment", index);
        let (entity, level) = if index < one_to_one {
            // Levels follow the `related` chain: Entity{k} (level k mod 3)
            // spreads Entity{k-1} (one level lower), so depth-3 chains exist.
            (index, (index % 3) as u8)
        } else {
            (
                rng.below(types),
                rng.below(usize::from(MAX_LEVEL) + 1) as u8,
            )
        };
        let related_entity = DefinitionPlan::related_entity(types, entity);
        let lower = |candidates: &[usize]| -> Vec<usize> {
            candidates
                .iter()
                .copied()
                .filter(|&other| fragments[other].level < level)
                .collect()
        };
        let related_candidates = lower(&by_entity[related_entity]);
        let same_candidates = lower(&by_entity[entity]);

        let related_spread = if rng.percent(75) {
            rng.pick(&related_candidates).copied()
        } else {
            None
        };
        let same_entity_spread = if rng.percent(35) {
            rng.pick(&same_candidates).copied()
        } else {
            None
        };
        let related = if related_spread.is_some() || rng.percent(60) {
            Some(related_spread)
        } else {
            None
        };
        let mut scalar_fields: Vec<&'static str> = OPTIONAL_SCALAR_FIELDS
            .iter()
            .copied()
            .filter(|_| rng.percent(50))
            .collect();
        if scalar_fields.is_empty() {
            scalar_fields.push(OPTIONAL_SCALAR_FIELDS[rng.below(OPTIONAL_SCALAR_FIELDS.len())]);
        }
        let select_name = rng.percent(85);
        let related_list = rng.percent(40);
        // A fixed pattern (not a coin flip) so even the small preset has one.
        let argument_default = (index % 7 == 3).then(|| 3 + (index % 5) as u32);

        fragments.push(FragmentPlan {
            index,
            entity,
            level,
            file: file_of(index, spec.fragments, layout.fragment_files),
            select_name,
            scalar_fields,
            related,
            related_list,
            argument_default,
            same_entity_spread,
        });
        by_entity[entity].push(index);
    }

    let entity_query_count = layout.entity_queries();
    let page_count = layout.page_operations();
    let mut entity_query_seen = 0;
    let mut page_seen = 0;
    let mut operations = Vec::with_capacity(layout.operation_kinds.len());
    for (index, kind) in layout.operation_kinds.iter().copied().enumerate() {
        let file = if kind.lives_in_pages() {
            page_seen += 1;
            file_of(page_seen - 1, page_count, layout.page_files)
        } else {
            entity_query_seen += 1;
            file_of(
                entity_query_seen - 1,
                entity_query_count,
                layout.entity_query_files,
            )
        };
        let mut rng = SplitMix64::stream(spec.seed, "operation", index);
        let planner = OperationPlanner {
            types,
            fragments: &fragments,
            by_entity: &by_entity,
        };
        let (variables, roots) = planner.plan(kind, &mut rng);
        operations.push(OperationPlan {
            index,
            kind,
            file,
            variables,
            roots,
        });
    }

    let mut fragment_file_stems = vec![String::new(); layout.fragment_files];
    for fragment in fragments.iter().rev() {
        fragment_file_stems[fragment.file] = format!("model{}", fragment.index);
    }
    let mut entity_query_file_stems = vec![String::new(); layout.entity_query_files];
    let mut page_file_stems = vec![String::new(); layout.page_files];
    for operation in operations.iter().rev() {
        if operation.kind.lives_in_pages() {
            page_file_stems[operation.file] = format!("operation{}", operation.index);
        } else {
            entity_query_file_stems[operation.file] = format!("query{}", operation.index);
        }
    }

    DefinitionPlan {
        fragment_file_stems,
        entity_query_file_stems,
        page_file_stems,
        fragments,
        operations,
    }
}

struct OperationPlanner<'a> {
    types: usize,
    fragments: &'a [FragmentPlan],
    by_entity: &'a [Vec<usize>],
}

const ID: Variable = Variable {
    name: "id",
    graphql_type: "ID!",
};
const LIMIT: Variable = Variable {
    name: "limit",
    graphql_type: "Int",
};
const OFFSET: Variable = Variable {
    name: "offset",
    graphql_type: "Int",
};

impl OperationPlanner<'_> {
    fn plan(
        &self,
        kind: OperationKind,
        rng: &mut SplitMix64,
    ) -> (Vec<Variable>, Vec<RootSelection>) {
        match kind {
            OperationKind::PageQuery => {
                let primary = self.pick_fragment(rng);
                let entity = self.fragments[primary].entity;
                let mut by_id = self.root(format!("entity{entity}"), vec!["id"], vec!["id"]);
                by_id.spreads = self.spreads_on(entity, primary, rng);
                if rng.percent(35) {
                    let related = DefinitionPlan::related_entity(self.types, entity);
                    if let Some(fragment) = rng.pick(&self.by_entity[related]) {
                        by_id.related_spreads.push(*fragment);
                    }
                }
                let mut variables = vec![ID];
                let mut roots = vec![by_id];
                if rng.percent(30) {
                    let listed = self.pick_fragment(rng);
                    let list_entity = self.fragments[listed].entity;
                    let mut list = self.root(
                        format!("entity{list_entity}List"),
                        vec!["limit", "offset"],
                        vec!["id"],
                    );
                    list.spreads.push(listed);
                    variables.extend([LIMIT, OFFSET]);
                    roots.push(list);
                }
                (variables, roots)
            }
            OperationKind::EntityQuery => {
                let spread = rng.percent(50).then(|| self.pick_fragment(rng));
                let entity =
                    spread.map_or_else(|| rng.below(self.types), |f| self.fragments[f].entity);
                let plain_fields = self.plain_fields(rng);
                let (variables, mut root) = if rng.percent(50) {
                    (
                        vec![ID],
                        self.root(format!("entity{entity}"), vec!["id"], plain_fields),
                    )
                } else {
                    (
                        vec![LIMIT, OFFSET],
                        self.root(
                            format!("entity{entity}List"),
                            vec!["limit", "offset"],
                            plain_fields,
                        ),
                    )
                };
                root.spreads.extend(spread);
                (variables, vec![root])
            }
            OperationKind::Mutation => {
                let primary = self.pick_fragment(rng);
                let entity = self.fragments[primary].entity;
                let spreads = self.spreads_on(entity, primary, rng);
                let (variables, mut root) = if rng.percent(50) {
                    (
                        vec![
                            ID,
                            Variable {
                                name: "name",
                                graphql_type: "String",
                            },
                        ],
                        self.root(
                            format!("updateEntity{entity}"),
                            vec!["id", "name"],
                            vec!["id"],
                        ),
                    )
                } else {
                    (
                        vec![
                            Variable {
                                name: "name",
                                graphql_type: "String!",
                            },
                            Variable {
                                name: "value",
                                graphql_type: "Int",
                            },
                        ],
                        self.root(
                            format!("createEntity{entity}"),
                            vec!["name", "value"],
                            vec!["id"],
                        ),
                    )
                };
                root.spreads = spreads;
                (variables, vec![root])
            }
            OperationKind::Subscription => {
                let primary = self.pick_fragment(rng);
                let entity = self.fragments[primary].entity;
                let mut root = self.root(format!("entity{entity}Changed"), vec!["id"], vec!["id"]);
                root.spreads = self.spreads_on(entity, primary, rng);
                (vec![ID], vec![root])
            }
        }
    }

    fn root(
        &self,
        field: String,
        arguments: Vec<&'static str>,
        plain_fields: Vec<&'static str>,
    ) -> RootSelection {
        RootSelection {
            field,
            arguments,
            plain_fields,
            spreads: Vec::new(),
            related_spreads: Vec::new(),
        }
    }

    /// A fragment to spread: often one of the hot few, otherwise any.
    fn pick_fragment(&self, rng: &mut SplitMix64) -> usize {
        let count = self.fragments.len();
        if rng.percent(35) {
            rng.below(count.min(HOT_FRAGMENTS))
        } else {
            rng.below(count)
        }
    }

    /// `primary` and sometimes a second fragment on the same entity.
    fn spreads_on(&self, entity: usize, primary: usize, rng: &mut SplitMix64) -> Vec<usize> {
        let mut spreads = vec![primary];
        let others: Vec<usize> = self.by_entity[entity]
            .iter()
            .copied()
            .filter(|&other| other != primary)
            .collect();
        if rng.percent(50) {
            spreads.extend(rng.pick(&others).copied());
        }
        spreads
    }

    fn plain_fields(&self, rng: &mut SplitMix64) -> Vec<&'static str> {
        let mut fields = vec!["id", "name"];
        fields.extend(
            OPTIONAL_SCALAR_FIELDS
                .iter()
                .copied()
                .filter(|_| rng.percent(50)),
        );
        fields
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::super::layout::plan_layout;
    use super::*;

    fn plan_for(name: &str) -> (DefinitionPlan, usize) {
        let spec = GenerateSpec::preset(name).unwrap();
        let layout = plan_layout(&spec).unwrap();
        (plan_definitions(&spec, &layout), spec.object_types)
    }

    #[test]
    fn spreads_go_to_lower_levels_and_lower_indexes_with_matching_types() {
        for name in ["small", "medium", "large", "xxlarge"] {
            let (plan, types) = plan_for(name);
            for fragment in &plan.fragments {
                if let Some(Some(target)) = fragment.related {
                    let target = &plan.fragments[target];
                    assert!(target.level < fragment.level && target.index < fragment.index);
                    assert_eq!(
                        target.entity,
                        DefinitionPlan::related_entity(types, fragment.entity)
                    );
                }
                if let Some(target) = fragment.same_entity_spread {
                    let target = &plan.fragments[target];
                    assert!(target.level < fragment.level && target.index < fragment.index);
                    assert_eq!(target.entity, fragment.entity);
                }
            }
        }
    }

    #[test]
    fn the_large_preset_has_every_feature() {
        let (plan, _) = plan_for("large");
        assert!(plan.fragments.iter().any(|f| f.argument_default.is_some()));
        assert!(plan
            .fragments
            .iter()
            .any(|f| f.same_entity_spread.is_some()));
        // A depth-3 chain: a fragment spreading one that spreads another.
        let depth3 = plan.fragments.iter().any(|f| {
            f.spreads()
                .any(|t| plan.fragments[t].spreads().next().is_some())
        });
        assert!(depth3);
        for kind in [
            OperationKind::PageQuery,
            OperationKind::EntityQuery,
            OperationKind::Mutation,
            OperationKind::Subscription,
        ] {
            assert!(plan.operations.iter().any(|op| op.kind == kind), "{kind:?}");
        }
    }

    #[test]
    fn operation_variables_are_exactly_the_arguments_used() {
        let (plan, _) = plan_for("xlarge");
        for op in &plan.operations {
            let mut used: Vec<&str> = op
                .roots
                .iter()
                .flat_map(|r| r.arguments.iter().copied())
                .collect();
            used.sort_unstable();
            used.dedup();
            let mut declared: Vec<&str> = op.variables.iter().map(|v| v.name).collect();
            declared.sort_unstable();
            assert_eq!(used, declared, "{}", op.graphql_name());
        }
    }
}
