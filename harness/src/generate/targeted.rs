//! The targeted edit: one fragment that many operations depend on gains one
//! valid field, different for every iteration, so an incremental rebuild has
//! real work that reaches several operations.

use std::fs;
use std::path::{Path, PathBuf};

use super::scan::{scan_module, DefinitionKind, ProjectIndex};
use super::GenerateError;

/// Alias prefix of the field the edit adds; a previous edit's line is
/// recognised by it and replaced, so edits never pile up.
const EDIT_ALIAS_PREFIX: &str = "sodaPerfEdit";

/// The edit's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetedEdit {
    /// Absolute path of the rewritten file.
    pub path: PathBuf,
    /// Canonical id of the edited fragment: `<path>::<export name>`.
    pub fragment_name: String,
    /// Operations spreading the fragment directly or through other fragments.
    pub dependent_operations: usize,
}

/// Which fragment to edit, found once by scanning the project, then applied
/// per iteration without scanning again (the worker edits inside the
/// measured process, so the scan stays out of the iterations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetedEditPlan {
    pub path: PathBuf,
    pub export_name: String,
    pub fragment_id: String,
    pub dependent_operations: usize,
}

impl TargetedEditPlan {
    /// Picks the fragment with the most dependent operations (ties: the
    /// smallest canonical id), so the choice is deterministic and the same
    /// before and after edits.
    pub fn discover(project_root: &Path) -> Result<TargetedEditPlan, GenerateError> {
        let index = ProjectIndex::read(project_root)?;
        let counts = index.spread_graph().dependent_operations();
        // max_by_key keeps the last maximum; iterate in reverse id order so
        // that the smallest id wins ties.
        let (fragment_id, dependent_operations) = counts
            .iter()
            .rev()
            .max_by_key(|(_, count)| **count)
            .map(|(id, count)| (id.clone(), *count))
            .ok_or_else(|| GenerateError::NoFragment {
                root: project_root.to_path_buf(),
            })?;
        let (module, export_name) = fragment_id
            .rsplit_once("::")
            .map(|(m, e)| (m.to_string(), e.to_string()))
            .unwrap_or_default();
        debug_assert!(index
            .definitions()
            .any(|(id, _, d)| id == fragment_id && d.kind == DefinitionKind::Fragment));
        Ok(TargetedEditPlan {
            path: project_root.join(module),
            export_name,
            fragment_id,
            dependent_operations,
        })
    }

    /// Rewrites the fragment's file: any earlier edit line is dropped and
    /// `sodaPerfEdit<iteration>: <field>` is added at the top of its
    /// selection, where `<field>` is one of its own argument-less fields
    /// (`__typename` if it has none). Distinct iterations give distinct bytes;
    /// the same iteration twice gives the same bytes.
    pub fn apply(&self, iteration: u32) -> Result<TargetedEdit, GenerateError> {
        let text =
            fs::read_to_string(&self.path).map_err(|e| GenerateError::io("read", &self.path, e))?;
        let summary = scan_module(&text).map_err(|problem| GenerateError::Scan {
            path: self.path.clone(),
            line: problem.line,
            message: problem.message,
        })?;
        let definition = summary
            .definitions
            .iter()
            .find(|d| d.export_name == self.export_name && d.kind == DefinitionKind::Fragment)
            .ok_or_else(|| GenerateError::Scan {
                path: self.path.clone(),
                line: 1,
                message: format!(
                    "fragment `{}` is no longer defined in this file",
                    self.export_name
                ),
            })?;
        let template = &text[definition.template_start..definition.template_end];
        let edited = edit_template(template, iteration).ok_or_else(|| GenerateError::Scan {
            path: self.path.clone(),
            line: definition.line,
            message: format!(
                "fragment `{}` has no selection set to edit",
                self.export_name
            ),
        })?;
        let mut new_text = String::with_capacity(text.len() + 64);
        new_text.push_str(&text[..definition.template_start]);
        new_text.push_str(&edited);
        new_text.push_str(&text[definition.template_end..]);
        crate::fsutil::write_atomic(&self.path, new_text.as_bytes())
            .map_err(|e| GenerateError::io("write", &self.path, e))?;
        Ok(TargetedEdit {
            path: self.path.clone(),
            fragment_name: self.fragment_id.clone(),
            dependent_operations: self.dependent_operations,
        })
    }
}

/// Scans `project_root`, picks the fragment (see [`TargetedEditPlan::discover`])
/// and applies edit number `iteration` to it.
pub fn targeted_edit(project_root: &Path, iteration: u32) -> Result<TargetedEdit, GenerateError> {
    TargetedEditPlan::discover(project_root)?.apply(iteration)
}

fn is_edit_line(line: &str) -> bool {
    line.trim_start().starts_with(EDIT_ALIAS_PREFIX)
}

/// The template with the edit applied, or `None` without a selection set.
fn edit_template(template: &str, iteration: u32) -> Option<String> {
    let cleaned: String = template
        .split_inclusive('\n')
        .filter(|line| !is_edit_line(line))
        .collect();
    let open = selection_open(&cleaned)?;
    let selection = &cleaned[open + 1..];

    // Argument-less fields at the top level of the selection.
    let mut fields = Vec::new();
    let mut indent = None;
    let mut depth = 1usize;
    for line in selection.lines() {
        let trimmed = line.trim();
        if depth == 1 && !trimmed.is_empty() {
            indent.get_or_insert_with(|| line[..line.len() - line.trim_start().len()].to_string());
            if trimmed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !trimmed.starts_with(|c: char| c.is_ascii_digit())
            {
                fields.push(trimmed);
            }
        }
        for c in trimmed.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if depth == 0 {
            break;
        }
    }
    let field = if fields.is_empty() {
        "__typename"
    } else {
        fields[iteration as usize % fields.len()]
    };
    let indent = indent.unwrap_or_else(|| "    ".to_string());
    let mut edited = String::with_capacity(cleaned.len() + 48);
    edited.push_str(&cleaned[..=open]);
    if selection.starts_with('\n') {
        edited.push('\n');
        edited.push_str(&indent);
        edited.push_str(&format!("{EDIT_ALIAS_PREFIX}{iteration}: {field}"));
        edited.push_str(selection);
    } else {
        // A one-line selection: `{ id name }`.
        edited.push_str(&format!(" {EDIT_ALIAS_PREFIX}{iteration}: {field}"));
        edited.push_str(selection);
    }
    Some(edited)
}

/// Offset of the `{` opening the selection set, after optional fragment
/// variable definitions `( ... )`.
fn selection_open(template: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, c) in template.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '{' if depth == 0 => return Some(at),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    const TEMPLATE: &str =
        "($l: Int = 5) {\n    id\n    name\n    related {\n      value\n    }\n  }";

    #[test]
    fn adds_an_aliased_top_level_field() {
        let edited = edit_template(TEMPLATE, 0).unwrap();
        assert_eq!(
            edited,
            "($l: Int = 5) {\n    sodaPerfEdit0: id\n    id\n    name\n    related {\n      value\n    }\n  }"
        );
        // The nested `value` is never chosen; iterations cycle over id and name.
        assert!(edit_template(TEMPLATE, 1)
            .unwrap()
            .contains("sodaPerfEdit1: name"));
        assert!(edit_template(TEMPLATE, 2)
            .unwrap()
            .contains("sodaPerfEdit2: id"));
    }

    #[test]
    fn replaces_an_earlier_edit_instead_of_piling_up() {
        let once = edit_template(TEMPLATE, 3).unwrap();
        let twice = edit_template(&once, 4).unwrap();
        assert_eq!(twice, edit_template(TEMPLATE, 4).unwrap());
        assert_eq!(twice.matches(EDIT_ALIAS_PREFIX).count(), 1);
    }

    #[test]
    fn falls_back_to_typename_and_handles_one_line_selections() {
        assert_eq!(
            edit_template("{ related { id } }", 7).unwrap(),
            "{ sodaPerfEdit7: __typename related { id } }"
        );
        assert!(edit_template("($a: Int)", 0).is_none());
    }
}
