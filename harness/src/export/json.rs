//! `json`: the run record itself, pretty-printed (what `metrics.json` holds).

use super::{ExportError, ExportFormat, ExportInput, Exporter};

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn format(&self) -> ExportFormat {
        ExportFormat::Json
    }

    fn render(&self, input: &ExportInput<'_>) -> Result<String, ExportError> {
        super::pretty_json("json", input.record)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::export::sample_data;
    use crate::model::RunRecord;

    #[test]
    fn json_round_trips_the_record() {
        let record = sample_data::record();
        let input = ExportInput::new(&record, None, &sample_data::bootstrap());
        let text = JsonExporter.render(&input).unwrap();
        let back: RunRecord = serde_json::from_str(&text).unwrap();
        // serde_json's default float parser may be off by one ulp, so compare
        // the samples with a tolerance and the rest exactly.
        let strip = |r: &RunRecord| {
            let mut r = r.clone();
            for scenario in r.fixtures.iter_mut().flat_map(|f| &mut f.scenarios) {
                scenario
                    .metrics
                    .values_mut()
                    .for_each(|m| m.samples.clear());
            }
            r
        };
        assert_eq!(strip(&back), strip(&record));
        let all_samples = |r: &RunRecord| -> Vec<f64> {
            r.fixtures
                .iter()
                .flat_map(|f| &f.scenarios)
                .flat_map(|s| s.metrics.values())
                .flat_map(|m| m.samples.clone())
                .collect()
        };
        for (a, b) in all_samples(&back).iter().zip(all_samples(&record)) {
            assert!((a - b).abs() <= 1e-12 * b.abs());
        }
        assert!(text.starts_with("{\n  \"format_version\": 1,"));
    }
}
