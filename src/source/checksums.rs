//! The checksum of every up.sql, for comparing with what was applied. At
//! thousands of migrations, reading every file on every `status` and `up`
//! costs more than everything else they do, so the checksums are cached with
//! each file's size and modification time, and a file is read again only
//! when either changed. Whether a folder's down.sql says irreversible is
//! kept the same way, against down.sql's own stamp: `status` shows it for
//! every migration, and a `stat` costs far less than reading the file.

use std::collections::HashMap;
use std::path::Path;

use super::{read_sql, Migration};
use crate::{cache, version};

/// Fill `checksum` of each migration: from the cache where the file's stamp
/// still matches, else by reading it (on two threads); then store the cache.
pub fn fill(dir: &Path, migrations: &mut [Migration]) {
    // `-3`: single files' checksums were of the whole file before `-2` (a
    // cache written then would keep them until each file changes); `-3`
    // adds down.sql's stamp and irreversible mark.
    let file =
        cache::dir().map(|d| d.join(format!("checksums-3-{}.tsv", version::checksum(&dir.display().to_string()))));
    let text = file.as_deref().and_then(|f| std::fs::read_to_string(f).ok()).unwrap_or_default();
    let cached = parse(&text);
    // (stamps, checksum, read from a file rather than the cache)
    let one = |m: &Migration| -> (Stamps, Option<String>, bool) {
        let path = m.up_path();
        let stamp = cache::stamp(&path);
        let down = if m.layout == super::Layout::File { None } else { cache::stamp(&m.down_path()) };
        let entry = cached.get(m.name.as_str());
        let mut read = false;
        match entry {
            Some(e) if down.is_some() && e.down == down => {
                let _ = m.text.1.set(e.irreversible.then(|| e.why.to_string()));
            }
            _ => {
                let _ = m.irreversible();
                read = m.layout != super::Layout::File;
            }
        }
        match (stamp, entry) {
            (Some(now), Some(e)) if now == e.up => ((stamp, down), Some(e.sum.to_string()), read),
            _ => ((stamp, down), read_sql(&path).ok().map(|sql| version::checksum(&up_of(m, sql))), true),
        }
    };
    let half = migrations.len() / 2;
    let found: Vec<_> = std::thread::scope(|scope| {
        let second = scope.spawn(|| migrations[half..].iter().map(one).collect::<Vec<_>>());
        let mut found: Vec<_> = migrations[..half].iter().map(one).collect();
        found.extend(second.join().unwrap_or_default());
        found
    });
    let missed = found.iter().any(|(_, _, read)| *read) || cached.len() != migrations.len();
    let mut lines = String::new();
    for (m, ((stamp, down), sum, _)) in migrations.iter_mut().zip(found) {
        if let (Some((len, mtime)), Some(sum)) = (stamp, &sum) {
            if missed {
                let (dlen, dmtime) = down.map(|(l, t)| (l.to_string(), t.to_string())).unwrap_or_default();
                let why = m.irreversible();
                let why = why.as_deref().map(|w| w.replace(['\t', '\n'], " "));
                let flag = if why.is_some() { "1" } else { "0" };
                lines.push_str(&format!(
                    "{}\t{len}\t{mtime}\t{sum}\t{dlen}\t{dmtime}\t{flag}\t{}\n",
                    m.name,
                    why.unwrap_or_default()
                ));
            }
        }
        m.checksum = sum;
    }
    if let Some(file) = file.filter(|_| missed) {
        cache::store(&file, &lines);
    }
}

/// What the checksum is of: up.sql, or a single file's up section (as
/// `Migration::checksum_of`).
fn up_of(m: &Migration, text: String) -> String {
    if m.layout == super::Layout::File {
        super::sections::split(&text).up
    } else {
        text
    }
}

type Stamps = (Option<(u64, u128)>, Option<(u64, u128)>);

/// One cached line.
struct Entry<'a> {
    up: (u64, u128),
    sum: &'a str,
    /// down.sql's stamp (None: there was none, or a single file).
    down: Option<(u64, u128)>,
    irreversible: bool,
    why: &'a str,
}

/// Lines `name \t size \t mtime_ns \t checksum \t down size \t down
/// mtime_ns \t 0|1 \t why`, borrowed from the file's text; anything
/// unreadable is skipped.
fn parse(text: &str) -> HashMap<&str, Entry<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            let (name, len, mtime, sum) = (f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?);
            let (dlen, dmtime) = (f.next()?, f.next()?);
            let down = dlen.parse().ok().zip(dmtime.parse().ok());
            let irreversible = f.next()? == "1";
            let why = f.next().unwrap_or("");
            Some((name, Entry { up: (len, mtime), sum, down, irreversible, why }))
        })
        .collect()
}
