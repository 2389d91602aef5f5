//! An in-memory stand-in for a session, for unit tests of the runner and of
//! `execute`: it records every text it is sent and answers as it is told
//! (what a script completed, its error, the transaction status after it;
//! a query's rows by a piece of its SQL). No server: what only PostgreSQL can
//! prove is the end-to-end suite's business.

use std::collections::VecDeque;

use super::pq::{Mark, MARK};
use super::session::{Notice, PgError, Rows, Script, Session, TxStatus};

/// How the fake answers one script.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub script: Script,
    /// The transaction status after it; None leaves it as it was.
    pub then: Option<TxStatus>,
    pub notices: Vec<Notice>,
}

type Query = Box<dyn FnMut(&[&str]) -> Result<Rows, PgError>>;

pub struct Fake {
    /// Every script and query, in the order sent.
    pub sent: Vec<String>,
    /// Answers to the next scripts (None: every statement completes, as
    /// when none is left).
    answers: VecDeque<Option<Answer>>,
    /// Answers to queries, the first whose piece the SQL contains.
    queries: Vec<(&'static str, Query)>,
    pub tx: TxStatus,
    pub lock: bool,
    pub pid: i32,
    notices: Vec<Notice>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            sent: Vec::new(),
            answers: VecDeque::new(),
            queries: Vec::new(),
            tx: TxStatus::Idle,
            lock: true,
            pid: 4242,
            notices: Vec::new(),
        }
    }
}

impl Fake {
    /// The next script is answered so.
    pub fn then(mut self, answer: Answer) -> Fake {
        self.answers.push_back(Some(answer));
        self
    }

    /// The next script runs to its end, whatever it is.
    pub fn then_completes(mut self) -> Fake {
        self.answers.push_back(None);
        self
    }

    /// Queries containing `piece` are answered by `f`.
    pub fn answering(mut self, piece: &'static str, f: impl FnMut(&[&str]) -> Result<Rows, PgError> + 'static) -> Fake {
        self.queries.push((piece, Box::new(f)));
        self
    }

    pub fn sent_containing(&self, piece: &str) -> usize {
        self.sent.iter().filter(|s| s.contains(piece)).count()
    }
}

/// An error as the server sends it.
pub fn server_error(sqlstate: &str, message: &str, position: Option<usize>) -> PgError {
    PgError {
        sqlstate: Some(sqlstate.into()),
        message: message.into(),
        detail: None,
        hint: None,
        position,
        connection_lost: false,
    }
}

/// The error libpq reports when the connection is gone.
pub fn lost_connection() -> PgError {
    PgError {
        sqlstate: None,
        message: "server closed the connection unexpectedly".into(),
        detail: None,
        hint: None,
        position: None,
        connection_lost: true,
    }
}

/// A script that runs to its end: every statement completes, each mark answers 0.
pub fn completes(sql: &str) -> Script {
    let statements = crate::sql::split_statements(sql);
    let marks = statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.text.contains(MARK))
        .map(|(completed, _)| Mark { completed, notices: 0, value: Some("0".into()) })
        .collect();
    Script { completed: statements.len(), marks, ..Script::default() }
}

impl Session for Fake {
    fn script(&mut self, sql: &str) -> Script {
        self.sent.push(sql.to_string());
        let trimmed = sql.trim_end_matches([';', '\n', ' ']);
        if trimmed.eq_ignore_ascii_case("ROLLBACK") || trimmed.eq_ignore_ascii_case("COMMIT") {
            self.tx = TxStatus::Idle;
            return Script { completed: 1, ..Script::default() };
        }
        let answer = self
            .answers
            .pop_front()
            .flatten()
            .unwrap_or_else(|| Answer { script: completes(sql), ..Answer::default() });
        if let Some(tx) = answer.then {
            self.tx = tx;
        }
        self.notices.extend(answer.notices);
        answer.script
    }

    fn query(&mut self, sql: &str, params: &[&str]) -> Result<Rows, PgError> {
        self.sent.push(sql.to_string());
        match self.queries.iter_mut().find(|(piece, _)| sql.contains(piece)) {
            Some((_, f)) => f(params),
            None => Err(server_error("XX000", &format!("the fake has no answer to: {sql}"), None)),
        }
    }

    fn transaction_status(&self) -> TxStatus {
        self.tx
    }

    fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    fn backend_pid(&self) -> i32 {
        self.pid
    }

    fn try_lock(&mut self) -> Result<bool, PgError> {
        Ok(self.lock)
    }

    fn holds_lock(&mut self) -> bool {
        self.lock
    }
}
