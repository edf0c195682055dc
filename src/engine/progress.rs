//! What store shows while it works: on a terminal an indicatif bar (bytes,
//! rate, ETA, the FIFO's fill and the phase: formatting, blanking, writing,
//! synchronizing, closing, updating descriptors, verifying); from cron (no
//! terminal) nothing on the screen. Every phase goes to the log either way.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::burn::{BurnProgress, Phase};
use crate::engine::fifo::FifoLevel;

/// The progress display of one store, rebuild or initialize.
#[derive(Debug)]
pub struct Meter {
    bar: Option<ProgressBar>,
}

impl Meter {
    /// A bar on stderr when it is a terminal, else nothing on the screen.
    pub fn for_terminal() -> Meter {
        if std::io::stderr().is_terminal() {
            Meter::visible(ProgressDrawTarget::stderr())
        } else {
            Meter::hidden()
        }
    }

    /// Logs phases only.
    pub fn hidden() -> Meter {
        Meter { bar: None }
    }

    /// A bar drawn to `target`.
    pub fn visible(target: ProgressDrawTarget) -> Meter {
        let style = ProgressStyle::with_template(
            "{spinner} {msg:28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(None, target).with_style(style);
        // Blanking or formatting may take minutes without a byte to count:
        // the spinner shows the run is alive.
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        Meter { bar: Some(bar) }
    }

    /// A phase without byte counts (formatting, blanking, verifying).
    pub fn phase(&mut self, what: &str) {
        log::info!("Phase: {what}.");
        if let Some(bar) = &self.bar {
            if bar.is_finished() {
                // A later stage after one that was done: draw again.
                bar.reset();
                bar.set_length(0);
            }
            bar.set_message(what.to_string());
            bar.tick();
        }
    }

    /// The work shown so far is over.
    pub fn done(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Whether a bar is drawn.
    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }
}

impl BurnProgress for Meter {
    fn phase(&mut self, phase: Phase) {
        Meter::phase(self, &phase.to_string());
    }

    fn written(&mut self, done: u64, total: u64, fifo: FifoLevel) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("writing (FIFO {:>3}%)", fifo.percent()));
        }
    }
}

impl crate::engine::discread::ScanProgress for Meter {
    fn blocks(&mut self, done: u32, total: u32) {
        if let Some(bar) = &self.bar {
            let b = mmc::BLOCK_SIZE as u64;
            bar.set_length(u64::from(total) * b);
            bar.set_position(u64::from(done) * b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_meter_draws_nothing_and_a_visible_one_counts() {
        let mut m = Meter::hidden();
        assert!(!m.is_visible());
        BurnProgress::phase(&mut m, Phase::Writing);
        let mut v = Meter::visible(ProgressDrawTarget::hidden());
        v.written(10, 100, FifoLevel::default());
        assert_eq!(v.bar.as_ref().map(|b| b.position()), Some(10));
        assert!(v
            .bar
            .as_ref()
            .is_some_and(|b| b.message().starts_with("writing (FIFO")));
    }
}
