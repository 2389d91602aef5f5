//! The checksum of every up.sql, for comparing with what was applied. Every
//! file is read and hashed on every run: a cache keyed on size and
//! modification time would miss an edit that keeps both (`cp -p`, `rsync -t`),
//! and a safety check must not be fooled; reading 5,000 small files costs
//! about 8 ms of a 43 ms `status` (bench/caches.py, bench/RESULTS.md).

use super::Migration;
use crate::version;

/// Fill `checksum` of each migration by reading its file (on two threads);
/// None where it cannot be read.
pub fn fill(migrations: &mut [Migration]) {
    let one = |m: &Migration| m.read_sql(&m.up_path()).ok().map(|sql| version::checksum(&up_of(m, sql)));
    let half = migrations.len() / 2;
    let found: Vec<Option<String>> = std::thread::scope(|scope| {
        let second = scope.spawn(|| migrations[half..].iter().map(one).collect::<Vec<_>>());
        let mut found: Vec<_> = migrations[..half].iter().map(one).collect();
        found.extend(second.join().unwrap_or_default());
        found
    });
    for (m, sum) in migrations.iter_mut().zip(found) {
        m.checksum = sum;
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
