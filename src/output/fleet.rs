//! What a fleet run shows: one row per target (live on a terminal, one line
//! per finished target elsewhere), the summary, and the `--format json`
//! document with every target.

use colored::Colorize;
use serde::Serialize;

use super::ErrorJson;
use crate::error::DoneStep;

/// Where a target stands after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FleetState {
    /// `up` applied migrations there.
    Applied,
    /// `down` reverted migrations there.
    Reverted,
    /// Nothing to do: up to date (`up`), nothing to revert (`down`), nothing pending (`status`, `verify`).
    UpToDate,
    /// `status`: migrations are pending or something is odd there.
    Pending,
    /// `verify`: its pending migrations are reversible.
    Verified,
    /// `--dry-run`: what would be sent was planned.
    Planned,
    /// The command failed there (`error` says why; `done_before` what it did first).
    Failed,
    /// No connection could be made.
    Unreachable,
    /// `--fail-fast`: not started because another target failed.
    NotStarted,
}

impl FleetState {
    pub fn failed(self) -> bool {
        matches!(self, FleetState::Failed | FleetState::Unreachable)
    }

    pub fn word(self) -> &'static str {
        match self {
            FleetState::Applied => "applied",
            FleetState::Reverted => "reverted",
            FleetState::UpToDate => "up to date",
            FleetState::Pending => "pending",
            FleetState::Verified => "verified",
            FleetState::Planned => "planned",
            FleetState::Failed => "failed",
            FleetState::Unreachable => "unreachable",
            FleetState::NotStarted => "not started",
        }
    }

    /// The state's word, padded to the table's column and coloured.
    pub fn label(self) -> String {
        let word = format!("{:<11}", self.word());
        match self {
            FleetState::Applied | FleetState::Reverted | FleetState::Verified => word.green().to_string(),
            FleetState::UpToDate | FleetState::Planned => word.normal().to_string(),
            FleetState::Pending | FleetState::NotStarted => word.yellow().to_string(),
            FleetState::Failed | FleetState::Unreachable => word.red().bold().to_string(),
        }
    }
}

/// `--targets` / `--group` with `up`, `down`, `status`, `verify`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FleetOutput<'a> {
    pub ok: bool,
    pub command: &'static str,
    /// Targets run at once.
    pub jobs: usize,
    pub targets: Vec<FleetTarget<'a>>,
    pub summary: FleetSummary,
    /// `fleet_failed` when a target failed; `null` otherwise.
    pub error: Option<ErrorJson<'a>>,
}

/// One target's outcome.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FleetTarget<'a> {
    pub name: &'a str,
    /// `user:****@host:port/db`.
    pub database: String,
    pub state: FleetState,
    /// What this run applied or reverted there (before the failure, for a failed one).
    pub migrations: &'a [DoneStep],
    /// Applied migrations there after the run (`null` when not known).
    pub applied: Option<usize>,
    /// Pending migrations there after the run (`null` when not known).
    pub pending: Option<usize>,
    /// `status`: anomalies found there; `verify`: migrations with a problem.
    pub problems: usize,
    pub duration_ms: u64,
    /// Why it failed, as a single run's `error` says it; `null` unless failed or unreachable.
    pub error: Option<ErrorJson<'a>>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FleetSummary {
    pub targets: usize,
    /// Targets where the command completed (whatever it found).
    pub completed: usize,
    pub failed: usize,
    pub not_started: usize,
    /// Migrations applied or reverted across the fleet.
    pub migrations: usize,
    pub duration_ms: u64,
}
