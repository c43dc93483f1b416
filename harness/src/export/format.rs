//! Human-readable numbers with units, shared by the exporters, the terminal
//! table and the HTML report: `123 ms`, `1.23 s`, `45.2 MiB`, `12,345`.

/// Formats `value` measured in `unit` for display, converting to a larger
/// unit where that reads better (ms → s, bytes/KiB → MiB/GiB).
pub fn format_value(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    match unit {
        "ms" => format_millis(value),
        "bytes" => format_bytes(value),
        "KiB" => format_bytes(value * 1024.0),
        "count" => format_count(value),
        "instructions" => format_si(value, ""),
        _ => format!("{} {unit}", significant(value)),
    }
}

fn format_millis(ms: f64) -> String {
    if ms.abs() >= 1000.0 {
        format!("{} s", significant(ms / 1000.0))
    } else {
        format!("{} ms", significant(ms))
    }
}

/// Binary units with 3 significant digits: `512 B`, `1.50 KiB`, `45.2 MiB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} B", value.round())
    } else {
        format!("{} {}", significant(value), UNITS[unit])
    }
}

/// Whole counts with thousands separators; fractional medians keep one decimal.
pub fn format_count(value: f64) -> String {
    if value.abs() >= 1e9 {
        return format_si(value, "");
    }
    let rounded = value.round();
    if (value - rounded).abs() > 1e-9 {
        return format!("{value:.1}");
    }
    let digits = format!("{}", rounded.abs() as u64);
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if rounded < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

fn format_si(value: f64, unit: &str) -> String {
    const PREFIXES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, prefix) in PREFIXES {
        if value.abs() >= scale {
            return format!("{} {prefix}{unit}", significant(value / scale));
        }
    }
    format!(
        "{}{}",
        significant(value),
        if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        }
    )
}

/// Three significant digits, but never scientific notation and never more
/// than needed: 0.123, 1.23, 12.3, 123, 1234.
pub fn significant(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = if magnitude == 0.0 || magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else if magnitude >= 0.1 {
        3
    } else {
        4
    };
    format!("{value:.decimals$}")
}

/// Rounds away floating-point noise (806.9000000000001 → 806.9) by keeping
/// 12 significant digits, for numbers written into machine-read exports.
pub fn tidy(value: f64) -> f64 {
    if !value.is_finite() || value == 0.0 {
        return value;
    }
    format!("{value:.11e}").parse().unwrap_or(value)
}

/// A percentage with one decimal: `1.8%`.
pub fn format_pct(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", fraction * 100.0)
    } else {
        "n/a".into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn values_read_naturally() {
        assert_eq!(format_value(812.34, "ms"), "812 ms");
        assert_eq!(format_value(41.25, "ms"), "41.2 ms");
        assert_eq!(format_value(0.0123, "ms"), "0.0123 ms");
        assert_eq!(format_value(1534.0, "ms"), "1.53 s");
        assert_eq!(format_value(48_000.0, "KiB"), "46.9 MiB");
        assert_eq!(format_value(125_829_120.0, "bytes"), "120 MiB");
        assert_eq!(format_value(512.0, "bytes"), "512 B");
        assert_eq!(format_value(1_234_567.0, "count"), "1,234,567");
        assert_eq!(format_value(-1_234.0, "count"), "-1,234");
        assert_eq!(format_value(2.5, "count"), "2.5");
        assert_eq!(format_value(1.5e9, "instructions"), "1.50 G");
        assert_eq!(format_value(3.0, "widgets"), "3.00 widgets");
        assert_eq!(format_pct(0.0183), "1.8%");
        assert_eq!(format_pct(f64::INFINITY), "n/a");
        assert_eq!(tidy(806.900_000_000_000_1), 806.9);
        assert_eq!(tidy(201.725_000_000_000_02), 201.725);
        assert_eq!(tidy(125_829_120.0), 125_829_120.0);
    }
}
