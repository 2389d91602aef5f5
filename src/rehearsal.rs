//! `up --rehearse`, the pure half: from what was seen while a migration ran
//! on the scratch copy (lock samples, probe results, the tables before and
//! after) to what the report says: the locks and how long the strongest was
//! held, the tables rewritten, the rows written, and whether an app's reads
//! and writes waited. No I/O here; `db::rehearse` gathers, `commands::rehearse` tells.

use std::time::Duration;

/// A user table as the catalog and the stats have it at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub oid: u32,
    /// Schema-qualified, quoted where needed.
    pub name: String,
    pub filenode: i64,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// One row of `pg_locks` for the migrating session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSample {
    /// Since the watcher started.
    pub at: Duration,
    pub oid: u32,
    pub mode: String,
    pub granted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Read,
    Write,
}

/// One try of an app's statement on a table while the migration ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub at: Duration,
    pub oid: u32,
    pub kind: ProbeKind,
    /// It hit its lock_timeout.
    pub waited: bool,
    pub took: Duration,
}

/// PostgreSQL's table lock modes, weakest first.
pub const MODES: [&str; 8] = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// A mode's strength (0 for one we do not know).
pub fn strength(mode: &str) -> usize {
    MODES.iter().position(|m| *m == mode).map(|i| i + 1).unwrap_or(0)
}

/// Whether a lock of this mode makes an app's INSERT/UPDATE/DELETE wait (it conflicts with RowExclusiveLock).
pub fn blocks_writes(mode: &str) -> bool {
    strength(mode) >= strength("ShareLock")
}

/// Whether it makes an app's SELECT wait (only AccessExclusiveLock conflicts with AccessShareLock).
pub fn blocks_reads(mode: &str) -> bool {
    mode == "AccessExclusiveLock"
}

/// One lock the migration held, and for how long it was seen held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLock {
    pub relation: String,
    pub mode: String,
    pub held: Duration,
}

/// Rows written to one table by the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub relation: String,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// What an app's statements of one kind met on one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waits {
    pub relation: String,
    pub kind: ProbeKind,
    pub probes: usize,
    pub waited: usize,
    /// From the first probe that waited to the end of the last one that did.
    pub blocked: Duration,
}

/// The measures of one migration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Measured {
    /// Strongest first.
    pub locks: Vec<HeldLock>,
    pub rewritten: Vec<String>,
    pub rows: Vec<Rows>,
    pub waits: Vec<Waits>,
}

impl Measured {
    pub fn strongest(&self) -> Option<&HeldLock> {
        self.locks.first()
    }

    /// Whether some probe of this kind waited.
    pub fn waited(&self, kind: ProbeKind) -> bool {
        self.waits.iter().any(|w| w.kind == kind && w.waited > 0)
    }

    /// The longest stretch an app's statement of this kind was blocked on one table.
    pub fn blocked(&self, kind: ProbeKind) -> Duration {
        self.waits.iter().filter(|w| w.kind == kind).map(|w| w.blocked).max().unwrap_or_default()
    }
}

/// Put what was seen together. `every` is the sampling period: a lock seen
/// once was held for about that long.
pub fn measure(before: &[Table], after: &[Table], locks: &[LockSample], probes: &[Probe], every: Duration) -> Measured {
    let name = |oid: u32| before.iter().chain(after).find(|t| t.oid == oid).map(|t| t.name.clone());
    // Locks on tables (not indexes, not our bookkeeping), granted, by (table, mode).
    let mut spans: Vec<(u32, String, Duration, Duration)> = Vec::new();
    for s in locks.iter().filter(|s| s.granted && name(s.oid).is_some()) {
        match spans.iter_mut().find(|(o, m, _, _)| *o == s.oid && *m == s.mode) {
            Some(span) => span.3 = span.3.max(s.at),
            None => spans.push((s.oid, s.mode.clone(), s.at, s.at)),
        }
    }
    let mut held: Vec<HeldLock> = spans
        .into_iter()
        .filter_map(|(oid, mode, first, last)| {
            Some(HeldLock { relation: name(oid)?, mode, held: (last - first).max(every) })
        })
        .collect();
    held.sort_by(|a, b| strength(&b.mode).cmp(&strength(&a.mode)).then(b.held.cmp(&a.held)));

    let rewritten = before
        .iter()
        .filter(|b| after.iter().any(|a| a.oid == b.oid && a.filenode != b.filenode))
        .map(|b| b.name.clone())
        .collect();
    let rows = after
        .iter()
        .filter_map(|a| {
            let b = before.iter().find(|b| b.oid == a.oid);
            let (i, u, d) = b.map(|b| (b.inserted, b.updated, b.deleted)).unwrap_or_default();
            let r = Rows {
                relation: a.name.clone(),
                inserted: a.inserted - i,
                updated: a.updated - u,
                deleted: a.deleted - d,
            };
            (r.inserted != 0 || r.updated != 0 || r.deleted != 0).then_some(r)
        })
        .collect();

    let mut waits: Vec<Waits> = Vec::new();
    for p in probes {
        let Some(relation) = name(p.oid) else { continue };
        let w = match waits.iter().position(|w| w.relation == relation && w.kind == p.kind) {
            Some(i) => &mut waits[i],
            None => {
                waits.push(Waits { relation, kind: p.kind, probes: 0, waited: 0, blocked: Duration::ZERO });
                waits.last_mut().expect("just pushed")
            }
        };
        w.probes += 1;
        if p.waited {
            w.waited += 1;
        }
    }
    for w in &mut waits {
        let waited: Vec<&Probe> = probes
            .iter()
            .filter(|p| p.waited && p.kind == w.kind && name(p.oid).as_ref() == Some(&w.relation))
            .collect();
        if let (Some(first), Some(last)) = (waited.first(), waited.last()) {
            w.blocked = last.at + last.took - first.at;
        }
    }
    Measured { locks: held, rewritten, rows, waits }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(oid: u32, name: &str, filenode: i64, updated: i64) -> Table {
        Table { oid, name: name.into(), filenode, inserted: 0, updated, deleted: 0 }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn lock(at: u64, oid: u32, mode: &str) -> LockSample {
        LockSample { at: ms(at), oid, mode: mode.into(), granted: true }
    }

    fn probe(at: u64, kind: ProbeKind, waited: bool) -> Probe {
        Probe { at: ms(at), oid: 1, kind, waited, took: ms(if waited { 50 } else { 1 }) }
    }

    #[test]
    fn the_modes_that_block_an_apps_writes_and_reads() {
        assert!(!blocks_writes("ShareUpdateExclusiveLock"), "CREATE INDEX CONCURRENTLY lets writes through");
        assert!(blocks_writes("ShareLock"), "CREATE INDEX blocks writes");
        assert!(blocks_writes("AccessExclusiveLock"));
        assert!(!blocks_reads("ShareLock") && blocks_reads("AccessExclusiveLock"));
        assert_eq!(strength("NoSuchLock"), 0);
    }

    #[test]
    fn the_strongest_lock_comes_first_with_how_long_it_was_seen() {
        let before = [table(1, "public.big", 10, 0)];
        let samples = [
            lock(0, 1, "AccessShareLock"),
            lock(10, 1, "ShareLock"),
            lock(900, 1, "ShareLock"),
            lock(900, 1, "AccessShareLock"),
            // An index the migration makes: not a table, not reported.
            lock(10, 77, "AccessExclusiveLock"),
        ];
        let m = measure(&before, &before, &samples, &[], ms(10));
        let s = m.strongest().unwrap();
        assert_eq!((s.relation.as_str(), s.mode.as_str(), s.held), ("public.big", "ShareLock", ms(890)));
        assert_eq!(m.locks.len(), 2);
        assert!(m.rewritten.is_empty() && m.rows.is_empty());
    }

    #[test]
    fn a_lock_seen_once_counts_one_sampling_period() {
        let before = [table(1, "public.t", 10, 0)];
        let m = measure(&before, &before, &[lock(5, 1, "AccessExclusiveLock")], &[], ms(10));
        assert_eq!(m.strongest().unwrap().held, ms(10));
    }

    #[test]
    fn a_changed_file_node_is_a_rewrite_and_the_stats_give_the_rows() {
        let before = [table(1, "public.a", 10, 5), table(2, "public.b", 20, 0)];
        let after = [table(1, "public.a", 11, 105), table(2, "public.b", 20, 0), table(3, "public.new", 30, 0)];
        let m = measure(&before, &after, &[], &[], ms(10));
        assert_eq!(m.rewritten, ["public.a"]);
        assert_eq!(m.rows, [Rows { relation: "public.a".into(), inserted: 0, updated: 100, deleted: 0 }]);
    }

    #[test]
    fn writes_that_waited_are_blocked_from_the_first_wait_to_the_end_of_the_last() {
        let before = [table(1, "public.t", 10, 0)];
        let probes = [
            probe(0, ProbeKind::Read, false),
            probe(1, ProbeKind::Write, false),
            probe(20, ProbeKind::Read, false),
            probe(21, ProbeKind::Write, true),
            probe(80, ProbeKind::Write, true),
            probe(140, ProbeKind::Write, false),
        ];
        let m = measure(&before, &before, &[], &probes, ms(10));
        assert!(m.waited(ProbeKind::Write) && !m.waited(ProbeKind::Read));
        assert_eq!(m.blocked(ProbeKind::Write), ms(80 + 50 - 21));
        assert_eq!(m.blocked(ProbeKind::Read), Duration::ZERO);
        let w = m.waits.iter().find(|w| w.kind == ProbeKind::Write).unwrap();
        assert_eq!((w.probes, w.waited), (4, 2));
    }
}
