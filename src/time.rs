//! Wall-clock time as stored and shown: unix milliseconds.

/// Now, in milliseconds since the unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds in an hour and a day.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// `ms` (unix milliseconds) as a UTC time (the epoch if out of range).
fn utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `ms` (unix milliseconds) as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_text(ms: i64) -> String {
    utc(ms).format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `ms` (unix milliseconds) as RFC 3339 in UTC with milliseconds,
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: exports and MCP task timestamps.
pub fn rfc3339(ms: i64) -> String {
    utc(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A span of time for people: `3 h 12 min`, `45 min`, `20 s`.
pub fn span_text(ms: i64) -> String {
    let secs = (ms.max(0) + 999) / 1000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", (secs + 59) / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_names_the_civil_date_and_time() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 (a leap day) 13:45 UTC.
        assert_eq!(utc_text(1_709_214_300_000), "2024-02-29 13:45 UTC");
        assert_eq!(span_text(20_000), "20 s");
        assert_eq!(span_text(45 * 60_000), "45 min");
        assert_eq!(span_text(3 * HOUR_MS + 12 * 60_000), "3 h 12 min");
    }
}
