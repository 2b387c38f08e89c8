//! Times and durations as people read them in tables: "12 s ago",
//! "3 min", "850 ms". Epoch milliseconds stay for `--json`.

/// How long ago `at_ms` was, as of `now_ms`: "just now", "12 s ago",
/// "5 min ago", "3 h ago", "4 d ago".
pub fn ago(at_ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms - at_ms).max(0) / 1000;
    if seconds < 1 {
        "just now".to_string()
    } else {
        format!("{} ago", span(seconds))
    }
}

/// A moment as local wall-clock time: "14:03:07" today, "2026-11-20 14:03"
/// on another day.
pub fn clock(at_ms: i64) -> String {
    use chrono::{Local, TimeZone};
    let Some(at) = Local.timestamp_millis_opt(at_ms).single() else {
        return at_ms.to_string();
    };
    if at.date_naive() == Local::now().date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// A length of time in whole seconds, in its largest sensible unit:
/// "12 s", "5 min", "3 h", "4 d".
pub fn span(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// A measured duration: "850 ms", "12.3 s", "2 min".
pub fn duration_ms(ms: i64) -> String {
    match ms {
        ms if ms < 1000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms => span(ms / 1000),
    }
}

/// Bytes as KiB/MiB/GiB with one decimal: "812 KiB", "23.4 MiB".
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let n = n as f64;
    if n < KIB * KIB {
        format!("{:.0} KiB", n / KIB)
    } else if n < KIB * KIB * KIB {
        format!("{:.1} MiB", n / (KIB * KIB))
    } else {
        format!("{:.1} GiB", n / (KIB * KIB * KIB))
    }
}

/// Parses an age such as `30d`, `12h`, `90m`, `45s` or `2w` into
/// milliseconds (for `--older-than`).
pub fn parse_age(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| {
        format!(
            "\"{text}\" is not an age: write a number and a unit, such as 30d, 12h, 90m, 45s or 2w"
        )
    })?;
    let unit_ms: i64 = match unit.trim() {
        "s" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        other => {
            return Err(format!(
                "\"{text}\": unknown unit \"{other}\" (use s, m, h, d or w, such as 30d)"
            ));
        }
    };
    number
        .checked_mul(unit_ms)
        .ok_or_else(|| format!("\"{text}\" is too long an age"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(ago(1_000, 1_500), "just now");
        assert_eq!(ago(0, 3_000), "3 s ago");
        assert_eq!(ago(0, 5 * 60_000 + 10), "5 min ago");
        assert_eq!(ago(0, 3 * 3_600_000), "3 h ago");
        assert_eq!(ago(0, 4 * 86_400_000), "4 d ago");
        assert_eq!(
            ago(10_000, 0),
            "just now",
            "a clock step back is not negative"
        );
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_340), "12.3 s");
        assert_eq!(duration_ms(125_000), "2 min");
        assert_eq!(bytes(512 * 1024), "512 KiB");
        assert_eq!(bytes(23 * 1024 * 1024 + 400 * 1024), "23.4 MiB");
    }

    #[test]
    fn ages_parse_with_their_unit_and_bad_ones_say_why() {
        assert_eq!(parse_age("30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_age("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_age("90m"), Ok(90 * 60_000));
        assert_eq!(parse_age("2w"), Ok(14 * 86_400_000));
        assert!(parse_age("30").unwrap_err().contains("unknown unit"));
        assert!(parse_age("d").unwrap_err().contains("not an age"));
        assert!(parse_age("30y").unwrap_err().contains("unknown unit \"y\""));
    }
}
