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
    /// Boxed so its address stays put for libpq's notice callback.
    notices: Box<RefCell<Vec<Notice>>>,
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
    // SAFETY: arg is the RefCell owned by the Conn that registered us; libpq
    // calls this only during calls on that connection, made through &mut Conn.
    let notices = unsafe { &*(arg as *const RefCell<Vec<Notice>>) };
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
    if let Ok(mut n) = notices.try_borrow_mut() {
        n.push(notice);
    }
}

/// Rows of a query, in binary format (decoded by the typed accessors).
pub struct Rows {
    res: NonNull<ffi::PGresult>,
    pub len: usize,
}

impl Drop for Rows {
    fn drop(&mut self) {
        // SAFETY: we own the result.
        unsafe { ffi::PQclear(self.res.as_ptr()) }
    }
}

impl Rows {
    /// The raw bytes of a value; None for NULL.
    pub fn bytes(&self, row: usize, col: usize) -> Option<&[u8]> {
        let (r, c) = (row as i32, col as i32);
        // SAFETY: bounds are the caller's (queries we wrote); libpq checks them too and
        // returns NULL/0 for out-of-range cells. The bytes live as long as the result.
        unsafe {
            if ffi::PQgetisnull(self.res.as_ptr(), r, c) != 0 {
                return None;
            }
            let p = ffi::PQgetvalue(self.res.as_ptr(), r, c);
            let n = ffi::PQgetlength(self.res.as_ptr(), r, c);
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

impl Conn {
    /// Connect with a libpq connection string or URL. The error is libpq's
    /// message, which never contains the password.
    pub fn connect(conninfo: &str) -> Result<Conn, String> {
        let c = CString::new(conninfo).map_err(|_| "the connection string contains a NUL character".to_string())?;
        // SAFETY: c is a valid C string; PQconnectdb returns NULL only when out of memory.
        let raw = NonNull::new(unsafe { ffi::PQconnectdb(c.as_ptr()) }).ok_or("libpq is out of memory")?;
        let conn = Conn { raw, notices: Box::new(RefCell::new(Vec::new())) };
        // SAFETY: raw is a live connection object.
        if unsafe { ffi::PQstatus(raw.as_ptr()) } != ffi::ConnStatusType::CONNECTION_OK {
            return Err(conn.error_message());
        }
        let arg = &*conn.notices as *const RefCell<Vec<Notice>> as *mut c_void;
        // SAFETY: the box outlives the connection (both dropped together, PQfinish first).
        unsafe { ffi::PQsetNoticeReceiver(raw.as_ptr(), Some(receive_notice), arg) };
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

    /// Turn a finished result into Ok(result) or the error it carries.
    fn check(&self, res: *mut ffi::PGresult) -> Result<NonNull<ffi::PGresult>, PgError> {
        let Some(res) = NonNull::new(res) else {
            return Err(PgError::client(self.error_message(), self.is_bad()));
        };
        // SAFETY: res is a valid result.
        let status = unsafe { ffi::PQresultStatus(res.as_ptr()) };
        use ffi::ExecStatusType::*;
        if matches!(status, PGRES_COMMAND_OK | PGRES_TUPLES_OK | PGRES_EMPTY_QUERY) {
            return Ok(res);
        }
        if matches!(status, PGRES_COPY_IN | PGRES_COPY_OUT) {
            // SAFETY: we own the result; the connection is in COPY state,
            // which we end (refusing the data) before it is used again.
            unsafe { ffi::PQclear(res.as_ptr()) };
            self.end_copy(status == PGRES_COPY_IN);
            return Err(PgError::client(
                "COPY … FROM STDIN / TO STDOUT cannot run in a migration (there is no data stream): \
                 load data with INSERT, or COPY from a file the server can read"
                    .into(),
                self.is_bad(),
            ));
        }
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
        Err(err)
    }

    /// Leave COPY state: refuse to send data, or read and drop what comes,
    /// then consume the remaining results.
    fn end_copy(&self, copy_in: bool) {
        let conn = self.raw.as_ptr();
        // SAFETY: live connection in COPY state; buffers returned by libpq are
        // freed with PQfreemem; results are cleared.
        unsafe {
            if copy_in {
                let why = c"cargo-migrate sends no COPY data";
                ffi::PQputCopyEnd(conn, why.as_ptr());
            } else {
                let mut buf: *mut std::os::raw::c_char = std::ptr::null_mut();
                while ffi::PQgetCopyData(conn, &mut buf, 0) > 0 {
                    ffi::PQfreemem(buf as *mut c_void);
                    buf = std::ptr::null_mut();
                }
            }
            loop {
                let r = ffi::PQgetResult(conn);
                if r.is_null() {
                    break;
                }
                ffi::PQclear(r);
            }
        }
    }

    /// Run one or more statements (simple query protocol); results are discarded.
    pub fn execute(&mut self, sql: &str) -> Result<(), PgError> {
        let c = CString::new(sql).map_err(|_| PgError {
            position: sql.find('\0').map(|b| sql[..b].chars().count() + 1),
            ..PgError::client("the SQL contains a NUL character".into(), false)
        })?;
        // SAFETY: live connection, valid C string. PQexec returns the last result,
        // or the first error (it stops there).
        let res = unsafe { ffi::PQexec(self.raw.as_ptr(), c.as_ptr()) };
        let res = self.check(res)?;
        // SAFETY: we own it.
        unsafe { ffi::PQclear(res.as_ptr()) };
        if self.is_bad() {
            return Err(PgError::client(self.error_message(), true));
        }
        Ok(())
    }

    /// Like `execute`, but a failure also says how many statements of the
    /// text completed before it: the server reports each one as it finishes,
    /// so the failing statement is known without running anything again.
    pub fn execute_counted(&mut self, sql: &str) -> Result<(), Box<(PgError, usize)>> {
        let c = CString::new(sql).map_err(|_| {
            let e = PgError {
                position: sql.find('\0').map(|b| sql[..b].chars().count() + 1),
                ..PgError::client("the SQL contains a NUL character".into(), false)
            };
            Box::new((e, 0))
        })?;
        let conn = self.raw.as_ptr();
        // SAFETY: live connection, valid C string.
        if unsafe { ffi::PQsendQuery(conn, c.as_ptr()) } == 0 {
            return Err(Box::new((PgError::client(self.error_message(), self.is_bad()), 0)));
        }
        let mut done = 0;
        let mut failed = None;
        loop {
            // SAFETY: live connection; each result is checked (and so cleared) once.
            let res = unsafe { ffi::PQgetResult(conn) };
            if res.is_null() {
                break;
            }
            // SAFETY: res is a valid result we own until cleared.
            let empty = unsafe { ffi::PQresultStatus(res) } == ffi::ExecStatusType::PGRES_EMPTY_QUERY;
            match self.check(res) {
                Ok(ok) => {
                    // SAFETY: we own it.
                    unsafe { ffi::PQclear(ok.as_ptr()) };
                    if !empty {
                        done += 1;
                    }
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    if self.is_bad() {
                        break;
                    }
                }
            }
        }
        if let Some(mut e) = failed {
            // libpq notices the connection is gone only after the error that said so.
            e.connection_lost |= self.is_bad();
            return Err(Box::new((e, done)));
        }
        if self.is_bad() {
            return Err(Box::new((PgError::client(self.error_message(), true), done)));
        }
        Ok(())
    }

    /// One statement, rows in binary format. Parameters are text.
    pub fn query(&mut self, sql: &str, params: &[&str]) -> Result<Rows, PgError> {
        let c = CString::new(sql).expect("our queries contain no NUL");
        let values: Vec<CString> =
            params.iter().map(|p| CString::new(p.replace('\0', "")).unwrap_or_default()).collect();
        let ptrs: Vec<*const std::os::raw::c_char> = values.iter().map(|v| v.as_ptr()).collect();
        // SAFETY: live connection; arrays of params.len() valid C strings; NULL
        // types/lengths/formats mean "infer, text"; 1 = binary results.
        let res = unsafe {
            ffi::PQexecParams(
                self.raw.as_ptr(),
                c.as_ptr(),
                ptrs.len() as i32,
                std::ptr::null(),
                if ptrs.is_empty() { std::ptr::null() } else { ptrs.as_ptr() },
                std::ptr::null(),
                std::ptr::null(),
                1,
            )
        };
        let res = self.check(res)?;
        // SAFETY: valid result.
        let len = unsafe { ffi::PQntuples(res.as_ptr()) }.max(0) as usize;
        Ok(Rows { res, len })
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
        std::mem::take(&mut *self.notices.borrow_mut())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: we own the connection; after this libpq never calls the receiver again.
        unsafe { ffi::PQfinish(self.raw.as_ptr()) }
    }
}
