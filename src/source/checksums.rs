//! The checksum of every up.sql (compared with what was applied) and whether
//! each down.sql says irreversible, found while the database is being asked
//! (on two threads where files must be read and hashed).
//!
//! Both are kept in a cache, by each file's identity and change stamp:
//! device, inode, size, modification time and status-change time (ctime),
//! in nanoseconds. The kernel sets ctime on every write, chmod and rename,
//! and no program can set it back (`cp -p`, `rsync -t` and `touch -d` set
//! the modification time only), so an edit that keeps the size and the
//! modification time is read again. A file changed less than `RACY` ago is
//! never taken from the cache nor put in it: a second write in the same tick
//! of a coarse file-system clock would keep every part of the stamp (git's
//! "racily clean" rule). Best effort: without a cache folder
//! (`CARGO_MIGRATE_NO_CACHE=1`) every file is read.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{Layout, Migration};
use crate::version;

/// How recent a change must be for its stamp not to be trusted.
const RACY: Duration = Duration::from_secs(2);

/// Fill `checksum` (None where up.sql cannot be read) and, for a folder,
/// whether its down.sql says irreversible.
pub fn fill(dir: &Path, migrations: &mut [Migration]) {
    let file = crate::workspace::cache::dir()
        .map(|d| d.join(format!("sources-1-{}.tsv", version::checksum(&dir.display().to_string()))));
    fill_with(dir, file.as_deref(), RACY, migrations);
}

/// `fill` with the cache in `file` (None: no cache); returns how many
/// migrations were read rather than taken from the cache.
fn fill_with(dir: &Path, file: Option<&Path>, racy: Duration, migrations: &mut [Migration]) -> usize {
    let text = file.and_then(|f| std::fs::read_to_string(f).ok()).unwrap_or_default();
    let cached = Cached::parse(&text);
    let now = SystemTime::now();
    let root = Root::open(dir);
    let one = |(i, m): (usize, &Migration)| -> Entry {
        let up = root.stamp(&m.up_path(), now, racy);
        let down = if m.layout == Layout::Folder { root.stamp(&m.down_path(), now, racy) } else { Stamp::Absent };
        let trusted = matches!(up, Stamp::At(_)) && down != Stamp::Racy;
        if let Some(hit) = cached.get(i, &m.name).filter(|c| trusted && c.up == up && c.down == down) {
            if let Some(mark) = hit.mark() {
                m.text.know_irreversible(mark);
            }
            return hit.entry();
        }
        let checksum = m.read_sql(&m.up_path()).ok().map(|sql| version::checksum(&up_of(m, sql)));
        // The mark is probed now only where it can be kept; otherwise when asked.
        let mark = (file.is_some() && m.layout == Layout::Folder).then(|| m.irreversible());
        Entry { up, down, checksum, mark, read: true }
    };
    // Files to read and hash: on two threads. Stamps to compare with the
    // cache's (a line for every migration): on this one, which runs beside
    // the connection being made, and a second thread would take a core from
    // the server process that is starting for it on a small machine.
    let found: Vec<Entry> = if cached.lines.len() >= migrations.len() {
        migrations.iter().enumerate().map(one).collect()
    } else {
        let half = migrations.len() / 2;
        std::thread::scope(|scope| {
            let second = scope
                .spawn(|| migrations[half..].iter().enumerate().map(|(i, m)| one((half + i, m))).collect::<Vec<_>>());
            let mut found: Vec<_> = migrations[..half].iter().enumerate().map(one).collect();
            found.extend(second.join().unwrap_or_default());
            found
        })
    };
    let read = found.iter().filter(|e| e.read).count();
    let changed = read > 0 || cached.lines.len() != migrations.len();
    let mut lines = String::new();
    for (m, entry) in migrations.iter_mut().zip(found) {
        if changed {
            if let Some(line) = entry.line(&m.name) {
                lines.push_str(&line);
            }
        }
        m.checksum = entry.checksum;
    }
    if let Some(file) = file.filter(|_| changed) {
        crate::workspace::cache::write_atomically(file, &lines);
    }
    read
}

/// What a file's stamp says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Stamp {
    /// A file changed at least `RACY` ago.
    At(Key),
    /// No such file.
    Absent,
    /// Changed too recently, or unknown (off Unix): never trusted.
    #[default]
    Racy,
}

/// A file's identity and change stamp: device, inode, size, modification
/// and status-change times (seconds, nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Key {
    /// `dev:ino:size:mtime.ns:ctime.ns`, as the cache file keeps it.
    fn text(&self) -> String {
        let Key { dev, ino, size, mtime, ctime } = self;
        format!("{dev}:{ino}:{size}:{}.{}:{}.{}", mtime.0, mtime.1, ctime.0, ctime.1)
    }

    fn parse(text: &str) -> Option<Key> {
        // One pass: seven numbers, each ended by the separator the format puts after it.
        const AFTER: [u8; 7] = [b':', b':', b':', b'.', b':', b'.', 0];
        let mut n = [0u64; 7];
        let (mut at, mut digits) = (0, 0);
        for &b in text.as_bytes() {
            match b {
                b'0'..=b'9' => {
                    n[at] = n[at].checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                    digits += 1;
                }
                _ if digits > 0 && at < 6 && b == AFTER[at] => (at, digits) = (at + 1, 0),
                _ => return None,
            }
        }
        if at != 6 || digits == 0 {
            return None;
        }
        let signed = |v: u64| i64::try_from(v).ok();
        Some(Key {
            dev: n[0],
            ino: n[1],
            size: n[2],
            mtime: (signed(n[3])?, signed(n[4])?),
            ctime: (signed(n[5])?, signed(n[6])?),
        })
    }

    /// The key of a file whose last change is at least `racy` old.
    fn trusted(self, now: SystemTime, racy: Duration) -> Option<Key> {
        let ctime = SystemTime::UNIX_EPOCH
            .checked_add(Duration::new(u64::try_from(self.ctime.0).ok()?, u32::try_from(self.ctime.1).ok()?))?;
        now.duration_since(ctime).is_ok_and(|age| age >= racy).then_some(self)
    }
}

/// The migrations folder, opened once: each file is looked up from it, two
/// path components away, rather than from `/` (the walk of the whole path
/// was most of a stamp's cost).
struct Root<'a> {
    dir: &'a Path,
    #[cfg(unix)]
    fd: Option<std::fs::File>,
}

impl<'a> Root<'a> {
    fn open(dir: &'a Path) -> Root<'a> {
        Root {
            dir,
            #[cfg(unix)]
            fd: std::fs::File::open(dir).ok(),
        }
    }

    fn stamp(&self, path: &Path, now: SystemTime, racy: Duration) -> Stamp {
        let key = match self.key(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Stamp::Absent,
            Err(_) => return Stamp::Racy,
            Ok(key) => key,
        };
        key.and_then(|k| k.trusted(now, racy)).map_or(Stamp::Racy, Stamp::At)
    }

    /// `path` below the folder, as bytes: the paths here are the folder's
    /// own joined with names, so a byte prefix is enough (`Path::strip_prefix`
    /// compares component by component, most of a stamp's own time); any
    /// other path is stamped whole.
    #[cfg(unix)]
    fn relative<'p>(&self, path: &'p Path) -> Option<&'p [u8]> {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.dir.as_os_str().as_bytes();
        let rest = path.as_os_str().as_bytes().strip_prefix(dir)?;
        if dir.ends_with(b"/") {
            Some(rest)
        } else {
            rest.strip_prefix(b"/")
        }
    }

    /// The file's key (None: no key on this system).
    #[cfg(unix)]
    fn key(&self, path: &Path) -> std::io::Result<Option<Key>> {
        use std::os::unix::io::AsRawFd;
        let relative = self.relative(path).and_then(|r| std::ffi::CString::new(r).ok());
        let (Some(fd), Some(relative)) = (&self.fd, relative) else {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path)?;
            return Ok(Some(Key {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            }));
        };
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `relative` is a NUL-terminated path, `fd` an open directory
        // kept alive by `self`, and `st` is written in full when it returns 0.
        if unsafe { libc::fstatat(fd.as_raw_fd(), relative.as_ptr(), st.as_mut_ptr(), 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fstatat returned 0.
        let st = unsafe { st.assume_init() };
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        Ok(Some(Key {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }))
    }

    #[cfg(not(unix))]
    fn key(&self, path: &Path) -> std::io::Result<Option<Key>> {
        std::fs::metadata(path).map(|_| None)
    }
}

/// One migration's files as found or as cached.
#[derive(Debug, Clone, Default)]
struct Entry {
    up: Stamp,
    down: Stamp,
    checksum: Option<String>,
    /// For a folder: its down.sql's irreversible reason (Some(None): not irreversible).
    mark: Option<Option<String>>,
    read: bool,
}

impl Entry {
    /// `name \t up stamp \t checksum \t down stamp \t mark`: only what was
    /// read from files whose stamps can be trusted.
    fn line(&self, name: &str) -> Option<String> {
        let (Stamp::At(up), Some(checksum)) = (&self.up, &self.checksum) else { return None };
        let down = match &self.down {
            Stamp::At(key) => key.text(),
            Stamp::Absent => "-".to_string(),
            Stamp::Racy => return None,
        };
        let up = up.text();
        let mark = match &self.mark {
            None => "?".to_string(),
            Some(None) => "-".to_string(),
            Some(Some(why)) => format!("!{}", why.replace(['\t', '\n', '\r'], " ")),
        };
        Some(format!("{name}\t{up}\t{checksum}\t{down}\t{mark}\n"))
    }
}

/// One line of the cache file, its stamps parsed; the checksum and the
/// mark are taken from the text only on a hit.
struct Line<'t> {
    name: &'t str,
    up: Stamp,
    down: Stamp,
    checksum: &'t str,
    /// `?` (not probed), `-` (not irreversible) or `!why`.
    mark: &'t str,
}

impl Line<'_> {
    fn mark(&self) -> Option<Option<String>> {
        match self.mark {
            "?" => None,
            "-" => Some(None),
            why => Some(why.strip_prefix('!').map(str::to_string)),
        }
    }

    fn entry(&self) -> Entry {
        Entry { up: self.up, down: self.down, checksum: Some(self.checksum.into()), mark: self.mark(), read: false }
    }
}

/// The cache's lines, in the order they were written: the migrations'
/// order, so the line of the i-th migration is looked for at i first and by
/// name (the map, made at the first miss) only when the folder changed.
struct Cached<'t> {
    lines: Vec<Line<'t>>,
    by_name: std::sync::OnceLock<HashMap<&'t str, usize>>,
}

impl<'t> Cached<'t> {
    /// Anything unreadable is skipped.
    fn parse(text: &'t str) -> Cached<'t> {
        let lines = text
            .lines()
            .filter_map(|line| {
                let mut f = line.splitn(5, '\t');
                let (name, up, checksum, down, mark) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
                if !matches!(mark, "?" | "-") && !mark.starts_with('!') {
                    return None;
                }
                let down = if down == "-" { Stamp::Absent } else { Stamp::At(Key::parse(down)?) };
                Some(Line { name, up: Stamp::At(Key::parse(up)?), down, checksum, mark })
            })
            .collect();
        Cached { lines, by_name: std::sync::OnceLock::new() }
    }

    fn get(&self, i: usize, name: &str) -> Option<&Line<'t>> {
        match self.lines.get(i) {
            Some(line) if line.name == name => Some(line),
            _ => {
                let by_name =
                    self.by_name.get_or_init(|| self.lines.iter().enumerate().map(|(i, l)| (l.name, i)).collect());
                by_name.get(name).map(|&i| &self.lines[i])
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileText;

    fn folder(dir: &Path) -> Migration {
        Migration {
            version: "1".into(),
            name: "1_a".into(),
            path: dir.to_path_buf(),
            layout: Layout::Folder,
            down_file: None,
            checksum: None,
            text: FileText::default(),
        }
    }

    /// Fill a fresh reading of the folder (as each run does); how many were read.
    fn run(dir: &Path, cache: &Path, racy: Duration) -> (usize, Option<String>, Option<String>) {
        let mut ms = [folder(dir)];
        let read = fill_with(dir.parent().unwrap(), Some(cache), racy, &mut ms);
        (read, ms[0].checksum.clone(), ms[0].irreversible())
    }

    #[test]
    fn a_same_size_edit_that_keeps_the_modification_time_is_read_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, cache) = (tmp.path().join("1_a"), tmp.path().join("cache.tsv"));
        std::fs::create_dir(&dir).unwrap();
        let up = dir.join("up.sql");
        std::fs::write(&up, "SELECT 1;\n").unwrap();
        std::fs::write(dir.join("down.sql"), "SELECT 0;\n").unwrap();
        let mtime = std::fs::metadata(&up).unwrap().modified().unwrap();

        let (read, first, mark) = run(&dir, &cache, Duration::ZERO);
        assert_eq!((read, first.as_deref(), mark), (1, Some(version::checksum("SELECT 1;\n").as_str()), None));
        // Unchanged: from the cache.
        assert_eq!(run(&dir, &cache, Duration::ZERO), (0, first.clone(), None));

        // `cp -p` / `rsync -t`: the same size, the old modification time. (A
        // pause first: within one tick of the file system's clock even ctime
        // would not move, which is what `RACY` guards against outside tests.)
        std::thread::sleep(Duration::from_millis(30));
        std::fs::write(&up, "SELECT 2;\n").unwrap();
        std::fs::File::options().write(true).open(&up).unwrap().set_modified(mtime).unwrap();
        assert_eq!(std::fs::metadata(&up).unwrap().modified().unwrap(), mtime);
        let (read, second, _) = run(&dir, &cache, Duration::ZERO);
        assert_eq!(read, 1);
        assert_eq!(second.as_deref(), Some(version::checksum("SELECT 2;\n").as_str()));

        // down.sql becomes irreversible the same way: its mark is read again too.
        let down = dir.join("down.sql");
        let down_mtime = std::fs::metadata(&down).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(30));
        std::fs::write(&down, format!("{}: x\n", crate::source::IRREVERSIBLE_MARK)).unwrap();
        std::fs::File::options().write(true).open(&down).unwrap().set_modified(down_mtime).unwrap();
        let (read, _, mark) = run(&dir, &cache, Duration::ZERO);
        assert_eq!((read, mark.as_deref()), (1, Some("x")));
        assert_eq!(run(&dir, &cache, Duration::ZERO).2.as_deref(), Some("x"));
    }

    #[test]
    fn a_key_reads_back_what_it_wrote_and_nothing_else() {
        let key = Key { dev: 64768, ino: 326462, size: 17, mtime: (1764650341, 123456789), ctime: (1764650342, 5) };
        assert_eq!(key.text(), "64768:326462:17:1764650341.123456789:1764650342.5");
        assert_eq!(Key::parse(&key.text()), Some(key));
        let big = Key { dev: u64::MAX, ino: 1, size: 0, mtime: (0, 0), ctime: (i64::MAX, 999_999_999) };
        assert_eq!(Key::parse(&big.text()), Some(big));
        for bad in [
            "",
            "1:2:3:4.5",
            "1:2:3:4.5:6.7:8",
            "1:2:x:4.5:6.7",
            "1:2:3:4:6.7",
            "18446744073709551616:2:3:4.5:6.7",
            "1:2:3:9223372036854775808.5:6.7",
            "1::3:4.5:6.7",
            "1:2:3:4.5:6.",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_line_is_looked_for_in_its_place_then_by_name() {
        let key = "1:2:3:4.5:6.7";
        let text = format!(
            "2_b\t{key}\tsum-b\t-\t!no way back\n1_a\t{key}\tsum-a\t{key}\t-\n3_c\t{key}\tsum-c\t-\tbad mark\n"
        );
        let cached = Cached::parse(&text);
        // In the migrations' order 1_a comes first: its line is found by name.
        assert_eq!(cached.get(0, "1_a").map(|l| l.checksum), Some("sum-a"));
        assert_eq!(cached.get(0, "2_b").map(|l| l.mark()), Some(Some(Some("no way back".into()))));
        assert_eq!(cached.get(1, "1_a").map(|l| l.mark()), Some(Some(None)));
        // A line with a mark it cannot read is not used.
        assert!(cached.get(2, "3_c").is_none() && cached.get(0, "4_d").is_none());
    }

    #[test]
    fn a_file_outside_the_folder_is_stamped_by_its_whole_path() {
        let tmp = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("up.sql"), "SELECT 1;\n").unwrap();
        let root = Root::open(tmp.path());
        let now = SystemTime::now() + Duration::from_secs(60);
        let inside = root.stamp(&tmp.path().join("none.sql"), now, Duration::ZERO);
        let outside = root.stamp(&other.path().join("up.sql"), now, Duration::ZERO);
        assert_eq!(inside, Stamp::Absent);
        assert!(matches!(outside, Stamp::At(k) if k.size == 10), "{outside:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_path_below_the_folder_is_looked_up_from_it_and_no_other() {
        let (dir, slash) = (Path::new("/p/migrations"), Path::new("/p/migrations/"));
        let up = Path::new("/p/migrations/1_a/up.sql");
        assert_eq!(Root { dir, fd: None }.relative(up), Some(&b"1_a/up.sql"[..]));
        assert_eq!(Root { dir: slash, fd: None }.relative(up), Some(&b"1_a/up.sql"[..]));
        // A sibling whose name starts with the folder's is not below it.
        assert_eq!(Root { dir, fd: None }.relative(Path::new("/p/migrations2/1_a/up.sql")), None);
        assert_eq!(Root { dir, fd: None }.relative(Path::new("/q/1_a/up.sql")), None);
    }

    #[test]
    fn a_file_changed_just_now_is_never_taken_from_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, cache) = (tmp.path().join("1_a"), tmp.path().join("cache.tsv"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("up.sql"), "SELECT 1;\n").unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(run(&dir, &cache, hour).0, 1);
        assert_eq!(run(&dir, &cache, hour).0, 1);
        // Nothing was kept: the cache holds no line for it.
        assert!(std::fs::read_to_string(&cache).unwrap_or_default().is_empty());
        // Without a cache, every file is read, and the mark is left for when it is asked.
        let mut ms = [folder(&dir)];
        assert_eq!(fill_with(tmp.path(), None, Duration::ZERO, &mut ms), 1);
        assert!(ms[0].checksum.is_some());
    }
}
