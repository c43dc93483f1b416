//! `bmf`: Bencher Metric Format — one benchmark per fixture × scenario, one
//! measure per metric, the median with its 95% bootstrap interval:
//! `{ "<fixture>/<scenario>": { "<metric>": { "value", "lower_value", "upper_value" } } }`.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::format::tidy;
use super::{ExportError, ExportFormat, ExportInput, Exporter};

pub struct BmfExporter;

#[derive(serde::Serialize)]
struct Measure {
    value: f64,
    lower_value: f64,
    upper_value: f64,
}

/// A JSON object that keeps its keys in insertion order (the record's order),
/// whatever serde_json's map features are.
struct OrderedObject<V>(Vec<(String, V)>);

impl<V: Serialize> Serialize for OrderedObject<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Exporter for BmfExporter {
    fn format(&self) -> ExportFormat {
        ExportFormat::Bmf
    }

    fn render(&self, input: &ExportInput<'_>) -> Result<String, ExportError> {
        let mut benchmarks = Vec::new();
        for fixture in &input.record.fixtures {
            for scenario in &fixture.scenarios {
                let measures: Vec<(String, Measure)> = scenario
                    .metrics
                    .keys()
                    .filter_map(|name| {
                        let summary =
                            input
                                .summaries
                                .get(&fixture.fixture, &scenario.scenario, name)?;
                        Some((
                            name.clone(),
                            Measure {
                                value: tidy(summary.median),
                                lower_value: tidy(summary.ci95_median.lower),
                                upper_value: tidy(summary.ci95_median.upper),
                            },
                        ))
                    })
                    .collect();
                benchmarks.push((
                    format!("{}/{}", fixture.fixture, scenario.scenario),
                    OrderedObject(measures),
                ));
            }
        }
        super::pretty_json("bmf", &OrderedObject(benchmarks))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::export::sample_data;

    #[test]
    fn bmf_snapshot() {
        let record = sample_data::record();
        let input = ExportInput::new(&record, None, &sample_data::bootstrap());
        insta::assert_snapshot!(BmfExporter.render(&input).unwrap());
    }
}
