//! Output formats: `ls` lines, `stat` blocks and their JSON forms.

use pike::Metadata;
use pike::pike_core::wire::file_attributes;
use serde_json::{Value, json};

/// FILETIME (100 ns since 1601) as RFC 3339 UTC, `-` for "not set".
pub(crate) fn filetime(ft: u64) -> String {
    const UNIX_EPOCH_AS_FILETIME: u64 = 116_444_736_000_000_000;
    let Some(t) = ft.checked_sub(UNIX_EPOCH_AS_FILETIME).filter(|_| ft != 0) else {
        return "-".into();
    };
    let secs = t / 10_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// algorithm: no date library needed for one conversion).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn kind(m: &Metadata) -> &'static str {
    if m.is_dir() { "dir" } else { "file" }
}

/// `R`, `H`, `S`, `D`, `A`, `L` (reparse point) flags, like smbclient's listing.
pub(crate) fn attr_letters(a: u32) -> String {
    [
        (file_attributes::DIRECTORY, 'D'),
        (file_attributes::READONLY, 'R'),
        (file_attributes::HIDDEN, 'H'),
        (file_attributes::SYSTEM, 'S'),
        (file_attributes::ARCHIVE, 'A'),
        (file_attributes::REPARSE_POINT, 'L'),
    ]
    .iter()
    .filter(|(bit, _)| a & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// One `ls` line: the bare name first, then tab-separated details.
pub(crate) fn ls_line(name: &str, m: &Metadata) -> String {
    format!(
        "{name}\t{}\t{}\t{}",
        kind(m),
        m.len(),
        filetime(m.last_write_time)
    )
}

/// The JSON object for one entry (`ls --json` elements, `stat --json`).
pub(crate) fn entry_json(name: &str, m: &Metadata) -> Value {
    json!({
        "name": name,
        "type": kind(m),
        "size": m.len(),
        "allocation_size": m.allocation_size,
        "attributes": m.file_attributes,
        "attribute_flags": attr_letters(m.file_attributes),
        "created": filetime(m.creation_time),
        "modified": filetime(m.last_write_time),
        "accessed": filetime(m.last_access_time),
        "changed": filetime(m.change_time),
    })
}

/// `stat`'s plain form: `key: value` lines.
pub(crate) fn stat_text(path: &str, m: &Metadata) -> String {
    format!(
        "path: {path}\ntype: {}\nsize: {}\nallocation_size: {}\nattributes: {:#x} {}\n\
         created: {}\nmodified: {}\naccessed: {}\nchanged: {}\n",
        kind(m),
        m.len(),
        m.allocation_size,
        m.file_attributes,
        attr_letters(m.file_attributes),
        filetime(m.creation_time),
        filetime(m.last_write_time),
        filetime(m.last_access_time),
        filetime(m.change_time),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes_as_rfc3339() {
        assert_eq!(filetime(0), "-");
        assert_eq!(filetime(116_444_736_000_000_000), "1970-01-01T00:00:00Z");
        // 2024-02-29T12:34:56Z = 1709210096 s after the Unix epoch.
        let ft = 116_444_736_000_000_000 + 1_709_210_096 * 10_000_000 + 1234;
        assert_eq!(filetime(ft), "2024-02-29T12:34:56Z");
        assert_eq!(filetime(1), "-"); // before 1970: not something servers report
    }

    #[test]
    fn lines_start_with_the_name() {
        let m = Metadata {
            creation_time: 0,
            last_access_time: 0,
            last_write_time: 116_444_736_000_000_000,
            change_time: 0,
            allocation_size: 4096,
            end_of_file: 5,
            file_attributes: file_attributes::ARCHIVE,
        };
        assert_eq!(
            ls_line("a b.txt", &m),
            "a b.txt\tfile\t5\t1970-01-01T00:00:00Z"
        );
        let j = entry_json("a", &m);
        assert_eq!(j["size"], 5);
        assert_eq!(j["type"], "file");
        assert_eq!(j["attribute_flags"], "A");
        assert!(stat_text("//h/s/a", &m).contains("\nsize: 5\n"));
    }
}
