//! The checksum of every up.sql, for comparing with what was applied. At
//! thousands of migrations, reading every file on every `status` and `up`
//! costs more than everything else they do, so the checksums are cached with
//! each file's size and modification time, and a file is read again only
//! when either changed.

use std::collections::HashMap;
use std::path::Path;

use super::{read_sql, Migration};
use crate::{cache, version};

/// Fill `checksum` of each migration: from the cache where the file's stamp
/// still matches, else by reading it (on two threads); then store the cache.
pub fn fill(dir: &Path, migrations: &mut [Migration]) {
    // `-2`: single files' checksums were of the whole file before (a cache
    // written then would keep them until each file changes).
    let file =
        cache::dir().map(|d| d.join(format!("checksums-2-{}.tsv", version::checksum(&dir.display().to_string()))));
    let text = file.as_deref().and_then(|f| std::fs::read_to_string(f).ok()).unwrap_or_default();
    let cached = parse(&text);
    // (stamp, checksum, read from the file rather than the cache)
    let one = |m: &Migration| -> (Option<(u64, u128)>, Option<String>, bool) {
        let path = m.up_path();
        let stamp = cache::stamp(&path);
        match (stamp, cached.get(m.name.as_str())) {
            (Some(now), Some((then, sum))) if now == *then => (stamp, Some(sum.to_string()), false),
            _ => (stamp, read_sql(&path).ok().map(|sql| version::checksum(&up_of(m, sql))), true),
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
    for (m, (stamp, sum, _)) in migrations.iter_mut().zip(found) {
        if let (Some((len, mtime)), Some(sum)) = (stamp, &sum) {
            if missed {
                lines.push_str(&format!("{}\t{len}\t{mtime}\t{sum}\n", m.name));
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

/// Lines `name \t size \t mtime_ns \t checksum`, borrowed from the file's
/// text; anything unreadable is skipped.
fn parse(text: &str) -> HashMap<&str, ((u64, u128), &str)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            let (name, len, mtime, sum) = (f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?);
            Some((name, ((len, mtime), sum)))
        })
        .collect()
}
