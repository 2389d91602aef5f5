//! A small safe layer over libpq (through `pq-sys`, the binding diesel itself
//! uses). We talk to libpq directly because a migration tool needs what
//! diesel's `PgConnection` hides: PostgreSQL's SQLSTATE and error position,
//! the NOTICE and WARNING messages a migration raises, whether a transaction
//! is left open, and the backend's pid.

use std::cell::RefCell;
use std::ffi::{c_void, CStr, CString};
use std::ptr::NonNull;

use pq_sys as ffi;

pub use crate::error::Notice;
use crate::error::Severity;

/// An error as the server (or libpq) reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    pub sqlstate: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the query text, when the server gives one.
    pub position: Option<usize>,
    /// The connection is gone: whatever was sent may or may not have run.
    pub connection_lost: bool,
}

impl PgError {
    /// An error libpq reports itself (no server fields).
    fn client(message: String, connection_lost: bool) -> PgError {
        PgError { sqlstate: None, message, detail: None, hint: None, position: None, connection_lost }
    }

    pub fn is(&self, sqlstate: &str) -> bool {
        self.sqlstate.as_deref() == Some(sqlstate)
    }
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.sqlstate {
            Some(code) => write!(f, "{} (SQLSTATE {code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PgError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Idle,
    InTransaction,
    Failed,
    Unknown,
}

pub struct Conn {
    raw: NonNull<ffi::PGconn>,
    /// Where libpq's notice callback puts the server's messages.
    notices: NoticeSink,
    /// The server process of this session, kept while it is known: libpq
    /// forgets it once the connection is bad, which is when it is needed
    /// (to wait for the old session to end before deciding an outcome).
    pid: i32,
    /// Statements prepared on this session, by their text, when it keeps
    /// them ([`Conn::keep_prepared`]); None when it does not.
    prepared: Option<std::collections::HashMap<String, CString>>,
    /// How many statements this session has prepared (each name is new).
    statements: usize,
    /// A script ran since the prepared statements were last known to be
    /// there: it may have run `DEALLOCATE ALL` or `DISCARD ALL`.
    unsure: bool,
}

/// The notices libpq hands to `receive_notice`, owned through a raw
/// pointer: libpq keeps that pointer for the connection's life, so no Rust
/// reference (a `Box` moving with `Conn` would be one) may be asserted
/// over the cell while libpq can still write through it. Freed by `free`,
/// after `PQfinish`, when libpq can no longer call back.
struct NoticeSink(NonNull<RefCell<Vec<Notice>>>);

impl NoticeSink {
    fn new() -> NoticeSink {
        NoticeSink(NonNull::from(Box::leak(Box::new(RefCell::new(Vec::new())))))
    }

    /// The pointer libpq is given.
    fn as_arg(&self) -> *mut c_void {
        self.0.as_ptr().cast()
    }

    fn len(&self) -> usize {
        // SAFETY: as for `take`.
        unsafe { self.0.as_ref() }.borrow().len()
    }

    fn take(&mut self) -> Vec<Notice> {
        // SAFETY: the cell lives until `free`; libpq calls back only inside
        // calls on the connection, which need `&mut Conn`, as this does.
        std::mem::take(&mut *unsafe { self.0.as_ref() }.borrow_mut())
    }

    /// SAFETY: call once, after libpq can no longer call back with the pointer.
    unsafe fn free(&mut self) {
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// What `receive_notice` does with a notice, apart from libpq.
///
/// SAFETY: `arg` is null or a `NoticeSink`'s pointer that is not freed.
unsafe fn push_notice(arg: *mut c_void, notice: Notice) {
    if arg.is_null() {
        return;
    }
    let notices = unsafe { &*(arg as *const RefCell<Vec<Notice>>) };
    if let Ok(mut n) = notices.try_borrow_mut() {
        n.push(notice);
    }
}

fn field(res: *const ffi::PGresult, code: u8) -> Option<String> {
    // SAFETY: res is a valid result; libpq returns NULL or a NUL-terminated string it owns.
    let p = unsafe { ffi::PQresultErrorField(res, code as std::os::raw::c_int) };
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().trim_end().to_string())
}

extern "C" fn receive_notice(arg: *mut c_void, res: *const ffi::PGresult) {
    if arg.is_null() || res.is_null() {
        return;
    }
    let notice = Notice {
        severity: Severity::parse(
            &field(res, ffi::PG_DIAG_SEVERITY_NONLOCALIZED)
                .or_else(|| field(res, ffi::PG_DIAG_SEVERITY))
                .unwrap_or_default(),
        ),
        message: field(res, ffi::PG_DIAG_MESSAGE_PRIMARY).unwrap_or_default(),
        detail: field(res, ffi::PG_DIAG_MESSAGE_DETAIL),
        hint: field(res, ffi::PG_DIAG_MESSAGE_HINT),
    };
    // SAFETY: arg is the sink of the Conn that registered us, freed only after PQfinish.
    unsafe { push_notice(arg, notice) }
}

/// Rows of a query, in binary format (decoded by the typed accessors):
/// libpq's result, or values held in memory (a fake session's answer).
pub struct Rows {
    backing: Backing,
    pub len: usize,
}

enum Backing {
    Pq(NonNull<ffi::PGresult>),
    /// Only fakes answer this way.
    #[cfg_attr(not(test), allow(dead_code))]
    Owned(Vec<Vec<Option<Vec<u8>>>>),
}

impl Drop for Rows {
    fn drop(&mut self) {
        if let Backing::Pq(res) = self.backing {
            // SAFETY: we own the result.
            unsafe { ffi::PQclear(res.as_ptr()) }
        }
    }
}

/// A value as the server sends it in binary format (for fakes' answers).
#[cfg(test)]
pub trait Binary {
    fn binary(&self) -> Vec<u8>;
}

#[cfg(test)]
impl Binary for &str {
    fn binary(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
#[cfg(test)]
impl Binary for String {
    fn binary(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
#[cfg(test)]
impl Binary for bool {
    fn binary(&self) -> Vec<u8> {
        vec![u8::from(*self)]
    }
}
#[cfg(test)]
impl Binary for i32 {
    fn binary(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
}
#[cfg(test)]
impl Binary for i64 {
    fn binary(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
}

impl Rows {
    /// Rows held in memory, each value binary-encoded (None for NULL).
    #[cfg(test)]
    pub fn owned(rows: Vec<Vec<Option<Vec<u8>>>>) -> Rows {
        Rows { len: rows.len(), backing: Backing::Owned(rows) }
    }

    /// One row of one value.
    #[cfg(test)]
    pub fn one(value: impl Binary) -> Rows {
        Rows::owned(vec![vec![Some(value.binary())]])
    }

    /// The raw bytes of a value; None for NULL.
    pub fn bytes(&self, row: usize, col: usize) -> Option<&[u8]> {
        let res = match &self.backing {
            Backing::Owned(rows) => return rows.get(row)?.get(col)?.as_deref(),
            Backing::Pq(res) => *res,
        };
        let (r, c) = (row as i32, col as i32);
        // SAFETY: bounds are the caller's (queries we wrote); libpq checks them too and
        // returns NULL/0 for out-of-range cells. The bytes live as long as the result.
        unsafe {
            if ffi::PQgetisnull(res.as_ptr(), r, c) != 0 {
                return None;
            }
            let p = ffi::PQgetvalue(res.as_ptr(), r, c);
            let n = ffi::PQgetlength(res.as_ptr(), r, c);
            if p.is_null() || n < 0 {
                return None;
            }
            Some(std::slice::from_raw_parts(p as *const u8, n as usize))
        }
    }

    /// text, varchar, name (binary format is the bytes).
    pub fn text(&self, row: usize, col: usize) -> Option<String> {
        self.bytes(row, col).map(|b| match std::str::from_utf8(b) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(b).into_owned(),
        })
    }

    /// int8 or timestamp (microseconds since 2000-01-01), both 8 bytes big-endian.
    pub fn i64(&self, row: usize, col: usize) -> Option<i64> {
        self.bytes(row, col).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes)
    }

    pub fn i32(&self, row: usize, col: usize) -> Option<i32> {
        self.bytes(row, col).and_then(|b| b.try_into().ok()).map(i32::from_be_bytes)
    }

    pub fn bool(&self, row: usize, col: usize) -> Option<bool> {
        self.bytes(row, col).map(|b| b.first() == Some(&1))
    }
}

/// Every result a script produced, accounted for: libpq hands them over one
/// by one, and none is dropped unseen (the server runs what follows a COPY
/// without waiting for its rows to be read, a COMMIT included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// Statements that completed (empty ones not counted), also those after
    /// a COPY … TO STDOUT.
    pub completed: usize,
    /// The first error; after it the server runs nothing more of the text.
    pub error: Option<PgError>,
    /// COPY … TO STDOUT streams that were read to their end and dropped.
    pub copies_out: usize,
    /// The results of `SELECT … AS cargo_migrate_mark` (see [`MARK`]), in order.
    pub marks: Vec<Mark>,
}

/// The column name of a one-value result the caller wants back from a
/// script (`SELECT x AS cargo_migrate_mark`): its value, and how many
/// statements and notices came before it (the runner marks the end of each
/// migration of a batch with one).
pub const MARK: &str = "cargo_migrate_mark";

/// One [`MARK`] result of a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    /// Statements completed before it.
    pub completed: usize,
    /// Notices received before it (and not yet taken).
    pub notices: usize,
    pub value: Option<String>,
}

impl Script {
    pub fn result(self) -> Result<(), PgError> {
        self.error.map_or(Ok(()), Err)
    }
}

/// The value of a one-row, one-column result named [`MARK`]; None when it is
/// another result (Some(None): the value is NULL).
///
/// SAFETY: `res` is a valid result.
unsafe fn mark(res: *const ffi::PGresult) -> Option<Option<String>> {
    let named = unsafe {
        ffi::PQnfields(res) == 1 && ffi::PQntuples(res) == 1 && {
            let name = ffi::PQfname(res, 0);
            !name.is_null() && CStr::from_ptr(name).to_bytes() == MARK.as_bytes()
        }
    };
    if !named {
        return None;
    }
    // SAFETY: row 0, column 0 exist; libpq owns the NUL-terminated value.
    Some(unsafe {
        (ffi::PQgetisnull(res, 0, 0) == 0)
            .then(|| CStr::from_ptr(ffi::PQgetvalue(res, 0, 0)).to_string_lossy().into_owned())
    })
}

/// Whether a script may drop this session's prepared statements: it says
/// `DEALLOCATE`, or `DISCARD` other than `DISCARD TEMP` (which the runner's
/// own session reset sends after every migration), `PLANS` or `SEQUENCES`,
/// anywhere, comments and strings included (a function the script makes may
/// run it). Asking the server costs two round trips a migration in
/// `verify`; a statement gone anyway (a function from an earlier migration
/// running `DEALLOCATE ALL`) fails the read with the server's error.
fn may_forget_prepared(sql: &str) -> bool {
    let b = sql.as_bytes();
    let at = |i: usize, word: &str| b.get(i..i + word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()));
    (0..b.len()).any(|i| {
        if at(i, "deallocate") {
            return true;
        }
        if !at(i, "discard") {
            return false;
        }
        let mut j = i + "discard".len();
        while b.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        let harmless = ["temporary", "temp", "plans", "sequences"].iter().any(|w| at(j, w));
        !harmless
    })
}

/// A text for libpq, or the error saying where its NUL is.
fn c_text(what: &str, text: &str) -> Result<CString, PgError> {
    CString::new(text).map_err(|_| PgError {
        position: text.find('\0').map(|b| text[..b].chars().count() + 1),
        ..PgError::client(format!("{what} contains a NUL character, which PostgreSQL text cannot hold"), false)
    })
}

/// Query parameters for libpq: a NUL is an error, never silently removed
/// (a version or a name with its NUL stripped would be another one).
fn c_params(params: &[&str]) -> Result<Vec<CString>, PgError> {
    params.iter().enumerate().map(|(i, p)| c_text(&format!("query parameter ${}", i + 1), p)).collect()
}

/// The type `text[]`.
const TEXT_ARRAY: u32 = 1009;

/// What a COPY … FROM STDIN in a script ends with: the server fails the COPY
/// with this reason, and runs nothing more of the text.
const NO_COPY_DATA: &CStr = c"cargo-migrate sends no COPY data";

/// The explanation of a COPY … FROM STDIN refused that way.
fn copy_in_error(mut e: PgError) -> PgError {
    e.message = "COPY … FROM STDIN cannot run in a migration (there is no data stream): \
                 load data with INSERT, or COPY from a file the server can read"
        .into();
    e
}

impl Conn {
    /// Connect with a libpq connection string or URL. The error is libpq's
    /// message, which never contains the password.
    pub fn connect(conninfo: &str) -> Result<Conn, String> {
        let c = CString::new(conninfo).map_err(|_| "the connection string contains a NUL character".to_string())?;
        // SAFETY: c is a valid C string; PQconnectdb returns NULL only when out of memory.
        let raw = NonNull::new(unsafe { ffi::PQconnectdb(c.as_ptr()) }).ok_or("libpq is out of memory")?;
        let mut conn = Conn { raw, notices: NoticeSink::new(), pid: 0, prepared: None, statements: 0, unsure: false };
        // SAFETY: raw is a live connection object.
        if unsafe { ffi::PQstatus(raw.as_ptr()) } != ffi::ConnStatusType::CONNECTION_OK {
            return Err(conn.error_message());
        }
        // SAFETY: the sink outlives the connection: Drop frees it after PQfinish.
        unsafe { ffi::PQsetNoticeReceiver(raw.as_ptr(), Some(receive_notice), conn.notices.as_arg()) };
        // SAFETY: live connection.
        conn.pid = unsafe { ffi::PQbackendPID(raw.as_ptr()) };
        Ok(conn)
    }

    fn error_message(&self) -> String {
        // SAFETY: live connection; the message is owned by libpq.
        let p = unsafe { ffi::PQerrorMessage(self.raw.as_ptr()) };
        if p.is_null() {
            return "unknown libpq error".into();
        }
        unsafe { CStr::from_ptr(p) }.to_string_lossy().trim().to_string()
    }

    fn is_bad(&self) -> bool {
        // SAFETY: live connection.
        let status = unsafe { ffi::PQstatus(self.raw.as_ptr()) };
        status != ffi::ConnStatusType::CONNECTION_OK
    }

    /// The error a failed result carries (which is then cleared).
    fn take_error(&self, res: NonNull<ffi::PGresult>) -> PgError {
        let r = res.as_ptr();
        let err = PgError {
            sqlstate: field(r, ffi::PG_DIAG_SQLSTATE),
            message: field(r, ffi::PG_DIAG_MESSAGE_PRIMARY).unwrap_or_else(|| self.error_message()),
            detail: field(r, ffi::PG_DIAG_MESSAGE_DETAIL),
            hint: field(r, ffi::PG_DIAG_MESSAGE_HINT),
            position: field(r, ffi::PG_DIAG_STATEMENT_POSITION).and_then(|p| p.parse().ok()),
            connection_lost: self.is_bad(),
        };
        // SAFETY: we own the result.
        unsafe { ffi::PQclear(r) };
        err
    }

    /// Read a COPY … TO STDOUT's rows to their end and drop them; the
    /// COPY's own result follows, as does everything after it.
    fn drain_copy_out(&mut self) {
        let conn = self.raw.as_ptr();
        let mut rows = 0usize;
        // SAFETY: live connection in COPY OUT state; each buffer is freed with PQfreemem.
        unsafe {
            let mut buf: *mut std::os::raw::c_char = std::ptr::null_mut();
            while ffi::PQgetCopyData(conn, &mut buf, 0) > 0 {
                ffi::PQfreemem(buf as *mut c_void);
                buf = std::ptr::null_mut();
                rows += 1;
            }
        }
        let notice = Notice {
            severity: crate::error::Severity::Warning,
            message: format!("COPY … TO STDOUT sent {rows} row(s) that no one reads: cargo-migrate dropped them"),
            detail: None,
            hint: Some("to look at data, query it with psql; or COPY to a file the server can write".into()),
        };
        // SAFETY: the sink is ours and not freed.
        unsafe { push_notice(self.notices.as_arg(), notice) };
    }

    /// Run a script (one or more statements, simple query protocol) and
    /// account for every result: how many statements completed, the first
    /// error, the COPY streams met. A multi-statement text runs as one
    /// implicit transaction unless it says BEGIN/COMMIT itself.
    pub fn script(&mut self, sql: &str) -> Script {
        self.unsure |= self.prepared.is_some() && may_forget_prepared(sql);
        let mut out = Script::default();
        let c = match c_text("the SQL", sql) {
            Ok(c) => c,
            Err(e) => return Script { error: Some(e), ..out },
        };
        let conn = self.raw.as_ptr();
        // SAFETY: live connection, valid C string.
        if unsafe { ffi::PQsendQuery(conn, c.as_ptr()) } == 0 {
            out.error = Some(PgError::client(self.error_message(), self.is_bad()));
            return out;
        }
        let mut refused_copy_in = false;
        // SAFETY: live connection; each result is cleared exactly once below.
        while let Some(res) = NonNull::new(unsafe { ffi::PQgetResult(conn) }) {
            // SAFETY: res is a valid result we own until cleared.
            let status = unsafe { ffi::PQresultStatus(res.as_ptr()) };
            use ffi::ExecStatusType::*;
            match status {
                PGRES_COMMAND_OK | PGRES_TUPLES_OK | PGRES_EMPTY_QUERY => {
                    if status == PGRES_TUPLES_OK {
                        // SAFETY: res is valid until cleared below.
                        if let Some(value) = unsafe { mark(res.as_ptr()) } {
                            out.marks.push(Mark { completed: out.completed, notices: self.notices.len(), value });
                        }
                    }
                    out.completed += usize::from(status != PGRES_EMPTY_QUERY);
                    // SAFETY: we own it.
                    unsafe { ffi::PQclear(res.as_ptr()) };
                }
                PGRES_COPY_OUT => {
                    // SAFETY: we own it; the stream is read next.
                    unsafe { ffi::PQclear(res.as_ptr()) };
                    out.copies_out += 1;
                    self.drain_copy_out();
                }
                PGRES_COPY_IN | PGRES_COPY_BOTH => {
                    // SAFETY: we own it; the server answers the refusal with an error result.
                    unsafe {
                        ffi::PQclear(res.as_ptr());
                        ffi::PQputCopyEnd(conn, NO_COPY_DATA.as_ptr());
                    }
                    refused_copy_in = true;
                }
                _ => {
                    let e = self.take_error(res);
                    let e = if refused_copy_in && out.error.is_none() { copy_in_error(e) } else { e };
                    out.error.get_or_insert(e);
                    if self.is_bad() {
                        break;
                    }
                }
            }
        }
        match &mut out.error {
            // libpq notices the connection is gone only after the error that said so.
            Some(e) => e.connection_lost |= self.is_bad(),
            None if self.is_bad() => out.error = Some(PgError::client(self.error_message(), true)),
            None => {}
        }
        out
    }

    /// Run a script; its first error.
    pub fn execute(&mut self, sql: &str) -> Result<(), PgError> {
        self.script(sql).result()
    }

    /// One statement, rows in binary format. Parameters are text.
    pub fn query(&mut self, sql: &str, params: &[&str]) -> Result<Rows, PgError> {
        self.query_typed(sql, params, &[])
    }

    /// From now on, [`Conn::query_again`] prepares each text once on this
    /// session and then only executes it. For a direct session that reads
    /// the same catalog queries many times (verify's trial): planning them
    /// is most of their cost. Not for a pooler in transaction mode, which
    /// may hand each transaction another server session.
    pub fn keep_prepared(&mut self) {
        self.prepared.get_or_insert_with(Default::default);
    }

    /// Drop every statement this session keeps prepared, so that each is
    /// planned again, for the catalog as it is now, at its next use. A
    /// generic plan keeps the choices made for the tables' sizes when it was
    /// made (a catalog table that was small is scanned whole, not looked up
    /// by index), and nothing makes it again while the tables grow. Outside
    /// a transaction: DEALLOCATE ALL drops the session's every prepared
    /// statement, so it is for a session that keeps only its own (verify's).
    pub fn prepare_afresh(&mut self) -> Result<(), PgError> {
        if self.prepared.as_ref().is_some_and(|p| !p.is_empty()) {
            self.query_typed("DEALLOCATE ALL", &[], &[])?;
            self.prepared = Some(Default::default());
            self.unsure = false;
        }
        Ok(())
    }

    /// A statement that runs again with other parameters, of the types
    /// `types` (oids; one per parameter): prepared once when the session
    /// keeps prepared statements, else as [`Conn::query`].
    pub fn query_again(&mut self, sql: &str, params: &[&str], types: &[u32]) -> Result<Rows, PgError> {
        let Some(prepared) = &self.prepared else {
            return self.query_typed(sql, params, types);
        };
        if std::mem::take(&mut self.unsure) && !prepared.is_empty() {
            // Asked, not tried: inside a transaction, executing a statement
            // that is gone would fail the transaction.
            let names: Vec<&str> = prepared.values().filter_map(|n| n.to_str().ok()).collect();
            let names = format!("{{{}}}", names.join(","));
            let there = self
                .query_typed(
                    "SELECT pg_catalog.count(*)::pg_catalog.text FROM pg_catalog.pg_prepared_statements WHERE name = ANY($1)",
                    &[&names],
                    &[TEXT_ARRAY],
                )?
                .text(0, 0);
            if there.and_then(|n| n.parse::<usize>().ok()) != self.prepared.as_ref().map(|p| p.len()) {
                self.prepared = Some(Default::default());
            }
        }
        self.execute_prepared(sql, params, types)
    }

    fn execute_prepared(&mut self, sql: &str, params: &[&str], types: &[u32]) -> Result<Rows, PgError> {
        let known = self.prepared.as_ref().and_then(|p| p.get(sql)).cloned();
        let name = match known {
            Some(name) => name,
            None => {
                self.statements += 1;
                let name = CString::new(format!("cargo_migrate_{}", self.statements)).expect("no NUL in a number");
                let c = c_text("the query", sql)?;
                // SAFETY: live connection; valid C strings; `types` holds as
                // many oids as it says (or is empty: NULL, inferred).
                let res = unsafe {
                    ffi::PQprepare(
                        self.raw.as_ptr(),
                        name.as_ptr(),
                        c.as_ptr(),
                        types.len() as i32,
                        if types.is_empty() { std::ptr::null() } else { types.as_ptr() },
                    )
                };
                self.result(res)?;
                if let Some(p) = self.prepared.as_mut() {
                    p.insert(sql.to_string(), name.clone());
                }
                name
            }
        };
        let values = c_params(params)?;
        let ptrs: Vec<*const std::os::raw::c_char> = values.iter().map(|v| v.as_ptr()).collect();
        // SAFETY: live connection; a prepared statement's name; arrays of
        // params.len() valid C strings; NULL lengths/formats mean text; 1 = binary results.
        let res = unsafe {
            ffi::PQexecPrepared(
                self.raw.as_ptr(),
                name.as_ptr(),
                ptrs.len() as i32,
                if ptrs.is_empty() { std::ptr::null() } else { ptrs.as_ptr() },
                std::ptr::null(),
                std::ptr::null(),
                1,
            )
        };
        self.result(res)
    }

    fn query_typed(&mut self, sql: &str, params: &[&str], types: &[u32]) -> Result<Rows, PgError> {
        let c = c_text("the query", sql)?;
        let values = c_params(params)?;
        let ptrs: Vec<*const std::os::raw::c_char> = values.iter().map(|v| v.as_ptr()).collect();
        // SAFETY: live connection; arrays of params.len() valid C strings;
        // `types` empty (NULL: inferred) or one oid per parameter; NULL
        // lengths/formats mean text; 1 = binary results.
        let res = unsafe {
            ffi::PQexecParams(
                self.raw.as_ptr(),
                c.as_ptr(),
                ptrs.len() as i32,
                if types.is_empty() { std::ptr::null() } else { types.as_ptr() },
                if ptrs.is_empty() { std::ptr::null() } else { ptrs.as_ptr() },
                std::ptr::null(),
                std::ptr::null(),
                1,
            )
        };
        self.result(res)
    }

    /// The rows of one statement's result, or its error.
    fn result(&mut self, res: *mut ffi::PGresult) -> Result<Rows, PgError> {
        let Some(res) = NonNull::new(res) else {
            return Err(PgError::client(self.error_message(), self.is_bad()));
        };
        // SAFETY: res is a valid result.
        let status = unsafe { ffi::PQresultStatus(res.as_ptr()) };
        use ffi::ExecStatusType::*;
        match status {
            PGRES_COMMAND_OK | PGRES_TUPLES_OK | PGRES_EMPTY_QUERY => {
                // SAFETY: valid result.
                let len = unsafe { ffi::PQntuples(res.as_ptr()) }.max(0) as usize;
                Ok(Rows { backing: Backing::Pq(res), len })
            }
            PGRES_COPY_IN | PGRES_COPY_OUT | PGRES_COPY_BOTH => {
                // Our queries never COPY; leave the state cleanly if one did.
                // SAFETY: we own the result; the connection is left out of COPY state.
                unsafe {
                    ffi::PQclear(res.as_ptr());
                    if status == PGRES_COPY_OUT {
                        self.drain_copy_out();
                        self.take_notices();
                    } else {
                        ffi::PQputCopyEnd(self.raw.as_ptr(), NO_COPY_DATA.as_ptr());
                    }
                    while let Some(r) = NonNull::new(ffi::PQgetResult(self.raw.as_ptr())) {
                        ffi::PQclear(r.as_ptr());
                    }
                }
                Err(PgError::client("a query of cargo-migrate's own started a COPY".into(), self.is_bad()))
            }
            _ => Err(self.take_error(res)),
        }
    }

    pub fn transaction_status(&self) -> TxStatus {
        // SAFETY: live connection.
        match unsafe { ffi::PQtransactionStatus(self.raw.as_ptr()) } {
            ffi::PGTransactionStatusType::PQTRANS_IDLE => TxStatus::Idle,
            ffi::PGTransactionStatusType::PQTRANS_INTRANS => TxStatus::InTransaction,
            ffi::PGTransactionStatusType::PQTRANS_INERROR => TxStatus::Failed,
            _ => TxStatus::Unknown,
        }
    }

    /// The server's messages since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.notices.take()
    }

    /// The server process serving this session (0 if never known).
    pub fn backend_pid(&self) -> i32 {
        self.pid
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: we own the connection; after PQfinish libpq never calls the
        // receiver again, so the sink can go.
        unsafe {
            ffi::PQfinish(self.raw.as_ptr());
            self.notices.free();
        }
    }
}

#[cfg(test)]
mod tests {
    //! The parts that do not call libpq (these also run under Miri:
    //! `cargo +nightly miri test --lib db::pq`).
    use super::*;

    #[test]
    fn what_may_drop_the_prepared_statements() {
        for sql in [
            "DEALLOCATE ALL;",
            "create table t (); deallocate prepare s1;",
            "DISCARD ALL;",
            "discard\n  all",
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$BEGIN EXECUTE 'DISCARD ALL'; END$$;",
            "ALTER TABLE t ADD COLUMN discarded_at timestamptz;",
        ] {
            assert!(may_forget_prepared(sql), "{sql}");
        }
        for sql in [
            "CREATE TABLE t (id int);",
            "RESET ALL;\nDISCARD TEMP;\n",
            "DISCARD TEMPORARY; DISCARD PLANS; DISCARD SEQUENCES;",
            "",
        ] {
            assert!(!may_forget_prepared(sql), "{sql}");
        }
    }

    fn notice(message: &str) -> Notice {
        Notice { severity: crate::error::Severity::Notice, message: message.into(), detail: None, hint: None }
    }

    #[test]
    fn notices_written_through_the_pointer_survive_a_move_of_their_owner() {
        struct Owner {
            sink: NoticeSink,
        }
        let owner = Owner { sink: NoticeSink::new() };
        let arg = owner.sink.as_arg();
        // Moved (as a Conn is, out of `connect` and into the caller's frames),
        // then written through the pointer libpq was given, then read.
        let moved = Box::new(owner);
        unsafe { push_notice(arg, notice("one")) };
        let mut moved_again = *moved;
        unsafe { push_notice(arg, notice("two")) };
        let got: Vec<String> = moved_again.sink.take().into_iter().map(|n| n.message).collect();
        assert_eq!(got, ["one", "two"]);
        assert!(moved_again.sink.take().is_empty());
        unsafe { moved_again.sink.free() };
        unsafe { push_notice(std::ptr::null_mut(), notice("ignored")) };
    }

    #[test]
    fn a_nul_is_an_error_with_its_position_never_stripped() {
        let e = c_text("the SQL", "SELECT 1;\nSELECT 'a\0b'").unwrap_err();
        assert_eq!(e.position, Some(20));
        assert!(!e.connection_lost);
        let e = c_params(&["20250101000000", "x\0y"]).unwrap_err();
        assert!(e.message.contains("$2"), "{}", e.message);
        assert_eq!(c_params(&["é", ""]).unwrap().len(), 2);
    }

    #[test]
    fn owned_rows_decode_as_the_server_sends_them() {
        let rows = Rows::owned(vec![
            vec![Some("v1".binary()), Some(7i32.binary()), Some(true.binary()), None],
            vec![Some(b"\xff".to_vec()), Some((-2i64).binary()), Some(false.binary()), Some(Vec::new())],
        ]);
        assert_eq!(rows.len, 2);
        assert_eq!(rows.text(0, 0).as_deref(), Some("v1"));
        assert_eq!(rows.i32(0, 1), Some(7));
        assert_eq!(rows.bool(0, 2), Some(true));
        assert_eq!(rows.text(0, 3), None);
        assert_eq!(rows.text(1, 0).as_deref(), Some("\u{fffd}"));
        assert_eq!(rows.i64(1, 1), Some(-2));
        assert_eq!(rows.bool(1, 2), Some(false));
        assert_eq!(rows.text(1, 3).as_deref(), Some(""));
        // Out of range is NULL, as libpq answers.
        assert_eq!(rows.text(5, 0), None);
        assert_eq!(rows.i32(0, 9), None);
        assert_eq!(Rows::one(3i64).i64(0, 0), Some(3));
    }

    #[test]
    fn a_script_result_is_its_first_error() {
        assert_eq!(Script { completed: 3, ..Script::default() }.result(), Ok(()));
        let e = PgError::client("x".into(), false);
        assert_eq!(Script { error: Some(e.clone()), ..Script::default() }.result(), Err(e));
    }
}
