//! Versions and time: diesel's version rule, new `YYYYMMDDHHMMSS` versions,
//! timestamps as `status` prints them, and the checksum of a migration file.
//! Pure, no I/O.

use std::fmt;

/// A migration's version: diesel's, the folder name up to the first `_`
/// with dashes removed (`20250615051828`). Ordered as diesel orders them, as
/// strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Version(String);

impl Version {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Version {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Version {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// As the string it is, widths and fills included (`{:0>4}`).
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl From<String> for Version {
    fn from(v: String) -> Version {
        Version(v)
    }
}

impl From<&str> for Version {
    fn from(v: &str) -> Version {
        Version(v.to_string())
    }
}

impl From<&String> for Version {
    fn from(v: &String) -> Version {
        Version(v.clone())
    }
}

impl From<Version> for String {
    fn from(v: Version) -> String {
        v.0
    }
}

impl PartialEq<str> for Version {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Version {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Version {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Version> for String {
    fn eq(&self, other: &Version) -> bool {
        *self == other.0
    }
}

impl PartialEq<Version> for str {
    fn eq(&self, other: &Version) -> bool {
        self == other.0
    }
}

impl PartialEq<Version> for &str {
    fn eq(&self, other: &Version) -> bool {
        *self == other.0
    }
}

/// Versions compare with the strings the database returns, as strings (diesel's order).
impl PartialOrd<String> for Version {
    fn partial_cmp(&self, other: &String) -> Option<std::cmp::Ordering> {
        Some(self.0.as_str().cmp(other.as_str()))
    }
}

impl PartialOrd<str> for Version {
    fn partial_cmp(&self, other: &str) -> Option<std::cmp::Ordering> {
        Some(self.0.as_str().cmp(other))
    }
}

impl PartialOrd<&str> for Version {
    fn partial_cmp(&self, other: &&str) -> Option<std::cmp::Ordering> {
        Some(self.0.as_str().cmp(*other))
    }
}

/// diesel's rule: the version is the folder name up to the first `_`, dashes removed.
pub fn version_of(folder: &str) -> String {
    let head = folder.split('_').next().unwrap_or("");
    if head.contains('-') {
        head.replace('-', "")
    } else {
        head.to_string()
    }
}

/// The widest version diesel's table holds (`version VARCHAR(50)`).
pub const MAX_VERSION_LEN: usize = 50;

/// Why a folder in the migrations folder cannot be a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderProblem {
    /// diesel's version (up to the first `_`, dashes removed) is empty or not all digits.
    VersionNotDigits,
    VersionTooLong(usize),
    /// Newlines, escape codes and other control characters.
    ControlCharacter,
    NotUtf8,
}

impl FolderProblem {
    pub fn reason(&self) -> String {
        match self {
            FolderProblem::VersionNotDigits => {
                "its version (the part before the first `_`) must be digits, e.g. 20250615051828_create_meetings".into()
            }
            FolderProblem::VersionTooLong(n) => {
                format!("its version has {n} characters; the history table holds at most {MAX_VERSION_LEN}")
            }
            FolderProblem::ControlCharacter => "its name contains a control character (newline, tab, escape…)".into(),
            FolderProblem::NotUtf8 => "its name is not valid UTF-8".into(),
        }
    }
}

/// diesel's rule, made strict: the version must be digits (dashes allowed, as
/// in `2019-10-10-123456`) and fit the history column.
pub fn check_folder(folder: &str) -> Result<(), FolderProblem> {
    if folder.contains('\u{fffd}') {
        return Err(FolderProblem::NotUtf8);
    }
    if folder.chars().any(char::is_control) {
        return Err(FolderProblem::ControlCharacter);
    }
    // version_of without the allocation: thousands of folders are checked.
    let head = folder.split('_').next().unwrap_or("");
    let digits = head.bytes().filter(|b| *b != b'-');
    if digits.clone().next().is_none() || !digits.clone().all(|b| b.is_ascii_digit()) {
        return Err(FolderProblem::VersionNotDigits);
    }
    let len = digits.count();
    if len > MAX_VERSION_LEN {
        return Err(FolderProblem::VersionTooLong(len));
    }
    Ok(())
}

/// The version for a new migration: `YYYYMMDDHHMMSS` of `now` (UTC), moved past
/// the newest existing version so that versions stay unique and ordered even
/// when two are made in the same second (or a teammate's clock ran ahead).
pub fn next_version(now_unix: i64, newest_existing: Option<&str>) -> String {
    let mut t = now_unix;
    if let Some(newest) = newest_existing {
        match parse_timestamp(newest) {
            Some(n) if n >= t => t = n + 1,
            _ => {}
        }
        let candidate = format_timestamp(t);
        if candidate.as_str() <= newest {
            // The newest version is not a timestamp but sorts after ours: keep order.
            return format!("{newest}1");
        }
        return candidate;
    }
    format_timestamp(t)
}

/// `YYYYMMDDHHMMSS` for seconds since the Unix epoch (UTC); clamped to the
/// years 0000-9999 (what 14 digits hold).
pub fn format_timestamp(unix: i64) -> String {
    let t = civil(unix);
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

/// Seconds since the Unix epoch as a UTC calendar date and time, clamped to
/// the range of 4-digit years.
fn civil(unix: i64) -> jiff::civil::DateTime {
    let first = jiff::civil::date(0, 1, 1).at(0, 0, 0, 0);
    let last = jiff::civil::date(9999, 12, 31).at(23, 59, 59, 0);
    match jiff::Timestamp::from_second(unix) {
        Ok(ts) => jiff::tz::Offset::UTC.to_datetime(ts).clamp(first, last),
        Err(_) if unix < 0 => first,
        Err(_) => last,
    }
}

/// PostgreSQL's binary timestamp's epoch (2000-01-01) in Unix seconds.
const PG_EPOCH: i64 = 946_684_800;

/// `YYYY-MM-DD HH:MM:SS` for PostgreSQL's binary timestamp (microseconds
/// since 2000-01-01), as `status` shows when a migration ran.
pub fn format_pg_timestamp(micros: i64) -> String {
    let mut out = String::with_capacity(19);
    push_pg_timestamp(&mut out, micros);
    out
}

/// The same, appended without allocating (status prints thousands).
/// PostgreSQL's `infinity` and `-infinity` are the extreme values.
pub fn push_pg_timestamp(out: &mut String, micros: i64) {
    match micros {
        i64::MAX => return out.push_str("infinity"),
        i64::MIN => return out.push_str("-infinity"),
        _ => {}
    }
    let t = civil(micros.div_euclid(1_000_000) + PG_EPOCH);
    let two = |out: &mut String, n: i64| {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    let year = i64::from(t.year());
    two(out, year / 100);
    two(out, year % 100);
    out.push('-');
    two(out, t.month().into());
    out.push('-');
    two(out, t.day().into());
    out.push(' ');
    two(out, t.hour().into());
    out.push(':');
    two(out, t.minute().into());
    out.push(':');
    two(out, t.second().into());
}

/// Seconds since the epoch for a `YYYYMMDDHHMMSS` version that is a real
/// date and time (UTC); None for other shapes.
pub fn parse_timestamp(version: &str) -> Option<i64> {
    if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| version[r].parse::<i8>().ok();
    let year = version[0..4].parse::<i16>().ok()?;
    let dt = jiff::civil::DateTime::new(year, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?, 0).ok()?;
    Some(jiff::tz::Offset::UTC.to_timestamp(dt).ok()?.as_second())
}

/// Checksum of a migration file that ignores a BOM and CRLF vs LF, so a
/// checkout on another OS does not look "modified". FNV-1a 64: this detects
/// edits, it is not a security boundary.
pub fn checksum(sql: &str) -> String {
    let text = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        h ^= u64::from(bytes[i]);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_shown_as_its_string_with_widths() {
        let v = Version::from("7");
        assert_eq!(format!("{v:0>3}|{v}|{v:<2}|"), "007|7|7 |");
        let eight = String::from("8");
        assert!(v < eight);
        assert!(v == "7");
        assert!("7" == v);
    }

    #[test]
    fn versions_follow_diesel() {
        assert_eq!(version_of("20250615051828_initial_meeting_schema"), "20250615051828");
        assert_eq!(version_of("2019-10-10-123456_create_users"), "20191010123456");
        assert_eq!(version_of("00000000000000_diesel_initial_setup"), "00000000000000");
        assert_eq!(version_of("7"), "7");
    }

    #[test]
    fn timestamps_round_trip() {
        // 2025-06-28 12:50:31 UTC
        let t = 1_751_115_031;
        assert_eq!(format_timestamp(t), "20250628125031");
        assert_eq!(parse_timestamp("20250628125031"), Some(t));
        assert_eq!(format_timestamp(0), "19700101000000");
        assert_eq!(format_timestamp(951_782_400), "20000229000000");
        assert_eq!(parse_timestamp("2025062812503"), None);
        assert_eq!(parse_timestamp("20251328125031"), None);
        // Calendar rules: no 31 February, 29 February in leap years only.
        assert_eq!(parse_timestamp("20250231000000"), None);
        assert_eq!(parse_timestamp("21000229000000"), None);
        assert_eq!(parse_timestamp("20240229000000").map(format_timestamp).as_deref(), Some("20240229000000"));
        assert_eq!(format_timestamp(i64::MAX), "99991231235959");
        assert_eq!(format_timestamp(i64::MIN), "00000101000000");
    }

    #[test]
    fn formats_postgres_timestamps() {
        assert_eq!(format_pg_timestamp(0), "2000-01-01 00:00:00");
        // 2025-06-15 05:20:11.5
        assert_eq!(format_pg_timestamp((1_749_964_811 - 946_684_800) * 1_000_000 + 500_000), "2025-06-15 05:20:11");
        assert_eq!(format_pg_timestamp(-1), "1999-12-31 23:59:59");
        assert_eq!(format_pg_timestamp(i64::MAX), "infinity");
        assert_eq!(format_pg_timestamp(i64::MIN), "-infinity");
    }

    #[test]
    fn next_version_is_unique_and_ordered() {
        let t = 1_751_115_031;
        assert_eq!(next_version(t, None), "20250628125031");
        assert_eq!(next_version(t, Some("20250101000000")), "20250628125031");
        // Same second: one second later. Crosses minute boundaries correctly.
        assert_eq!(next_version(t, Some("20250628125031")), "20250628125032");
        assert_eq!(next_version(t, Some("20250628125959")), "20250628130000");
        // A newest version that is not a timestamp but sorts later still gets beaten.
        let v = next_version(t, Some("99"));
        assert!(v.as_str() > "99", "{v}");
    }

    #[test]
    fn checksum_ignores_bom_and_crlf() {
        assert_eq!(checksum("a;\nb;\n"), checksum("\u{feff}a;\r\nb;\r\n"));
        assert_ne!(checksum("a;\n"), checksum("b;\n"));
    }

    #[test]
    fn folder_names_follow_diesel_strictly() {
        assert_eq!(check_folder("20250615051828_create_meetings"), Ok(()));
        assert_eq!(check_folder("2019-10-10-123456_create_users"), Ok(()));
        assert_eq!(check_folder("-_x"), Err(FolderProblem::VersionNotDigits));
        assert_eq!(check_folder("abc_x"), Err(FolderProblem::VersionNotDigits));
        assert_eq!(check_folder(&format!("{}_x", "1".repeat(60))), Err(FolderProblem::VersionTooLong(60)));
        assert_eq!(check_folder("2025_bad\nname"), Err(FolderProblem::ControlCharacter));
        assert_eq!(check_folder("2025_\u{1b}[31mred"), Err(FolderProblem::ControlCharacter));
    }
}
