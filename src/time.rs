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

/// `ms` (unix milliseconds) as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date; Howard Hinnant's
/// algorithm, exact for the proleptic Gregorian calendar.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
