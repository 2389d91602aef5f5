//! The progress line of a run on a terminal: `n/N`, the running migration and
//! how long it has run (with its statement count when it runs outside a
//! transaction), redrawn in place under the lines already printed. Only when
//! both stdout and stderr are terminals, the output is for humans and not
//! `--quiet`, and `MIGRATE_NO_PROGRESS` is not set: anywhere else nothing of
//! it exists and every line is written as before.
//!
//! While it shows, every line of the `Reporter` goes through it (above the
//! progress line, in one write with its redraw: no flicker); it is removed
//! when dropped, before any error is printed.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::Reporter;

/// The progress line showing now, through which the Reporter writes.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Write `text` above the progress line when one shows; false when none does.
pub(super) fn println(text: &str) -> bool {
    match ACTIVE.lock().ok().as_deref().and_then(Option::as_ref) {
        Some(bar) => {
            bar.println(text);
            true
        }
        None => false,
    }
}

/// The step running now: its name (and statements) and since when.
struct Running {
    since: Instant,
    name: String,
    statements: Option<(usize, usize)>,
}

pub struct Progress {
    bar: ProgressBar,
    running: Arc<Mutex<Running>>,
}

impl Progress {
    /// The progress line of a run of `total` steps, or None where it must not show.
    pub fn start(r: &Reporter, total: usize) -> Option<Arc<Progress>> {
        let wanted = r.human()
            && !r.quiet
            && std::env::var_os("MIGRATE_NO_PROGRESS").is_none()
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        if !wanted || total == 0 {
            return None;
        }
        let running = Arc::new(Mutex::new(Running { since: Instant::now(), name: String::new(), statements: None }));
        let shown = running.clone();
        let style = ProgressStyle::with_template("  {pos}/{len} {step}").ok()?.with_key(
            "step",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                if let Ok(s) = shown.lock() {
                    let _ = write!(w, "{}  {:.1}s", s.name, s.since.elapsed().as_secs_f64());
                    if let Some((done, of)) = s.statements {
                        let _ = write!(w, "  (statement {done}/{of})");
                    }
                }
            },
        );
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr()).with_style(style);
        *ACTIVE.lock().ok()? = Some(bar.clone());
        Some(Arc::new(Progress { bar, running }))
    }
}

impl crate::runner::Watch for Progress {
    fn started(&self, index: usize, _total: usize, name: &str, statements: Option<usize>) {
        if let Ok(mut s) = self.running.lock() {
            s.since = Instant::now();
            s.name.clear();
            s.name.push_str(name);
            s.statements = statements.map(|n| (0, n));
        }
        // `n/N`: the one running now.
        self.bar.set_position(index as u64 + 1);
        if index == 0 {
            // Redraws the running step's time while it runs (drawn at most 20 times a second).
            self.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    fn statement(&self, done: usize) {
        if let Ok(mut s) = self.running.lock() {
            if let Some((d, _)) = &mut s.statements {
                *d = done;
            }
        }
        self.bar.tick();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Ok(mut active) = ACTIVE.lock() {
            *active = None;
        }
        self.bar.finish_and_clear();
    }
}
