//! `CedarBackup3.extend.capacity`: after store, say (at ERROR level, as
//! Cedar does; the action itself succeeds) when the disc in the drive is
//! over `max_percentage` full or has less than `min_bytes` free.
//!
//! Cedar's `retrieveCapacity` derived its numbers from the configured
//! media type and the disc's session boundaries; here they are the
//! drive's own: the medium's total user blocks and the blocks free where
//! the next session would go (the same placement store writes at, so a
//! DVD+RW or BD-RE counts the volume grown in place as used). With
//! `check_media` the disc's label is checked first, as Cedar's
//! `checkMediaState` does.

use super::NOT_FILLED_IN;
use crate::actions::store::open_checked;
use crate::actions::ActionContext;
use crate::config::{CapacityLimit, CapacitySettings};
use crate::engine::util::display_bytes;

/// The disc's numbers, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MediaCapacity {
    /// Bytes recorded (or otherwise unavailable) before the next session.
    pub used: u64,
    /// Bytes the next session can take.
    pub available: u64,
}

impl MediaCapacity {
    /// Percent used, as Cedar's `MediaCapacity.utilized`.
    pub fn utilized(&self) -> f64 {
        let total = self.used + self.available;
        if total == 0 {
            0.0
        } else {
            self.used as f64 / total as f64 * 100.0
        }
    }
}

/// What Cedar logs for `capacity` under `limit`, when it is reached.
pub(crate) fn verdict(limit: &CapacityLimit, capacity: MediaCapacity) -> Option<String> {
    match limit {
        CapacityLimit::MaxPercentage(max) => (capacity.utilized() > max.percentage()).then(|| {
            format!(
                "Media has reached capacity limit of {}%: {:.2}% utilized",
                max.quantity,
                capacity.utilized()
            )
        }),
        CapacityLimit::MinBytes(min) => ((capacity.available as f64) < min.bytes()).then(|| {
            format!(
                "Media has reached capacity limit of {}: only {} available",
                display_bytes(min.bytes() as u64),
                display_bytes(capacity.available)
            )
        }),
    }
}

/// Runs the capacity action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &CapacitySettings) -> anyhow::Result<()> {
    log::debug!("Executing capacity extended action.");
    let Some(store) = ctx.settings.store.as_ref() else {
        anyhow::bail!(NOT_FILLED_IN);
    };
    let mut writer = open_checked(ctx, store)?;
    let placement = writer.placement(true)?;
    let block = mmc::BLOCK_SIZE as u64;
    let total = u64::from(placement.capacity) * block;
    let available = (u64::from(placement.free_blocks) * block).min(total);
    let capacity = MediaCapacity {
        used: total - available,
        available,
    };
    log::debug!(
        "Media capacity: {} used, {} available ({:.2}% utilized)",
        display_bytes(capacity.used),
        display_bytes(capacity.available),
        capacity.utilized()
    );
    if let Some(message) = verdict(&s.limit, capacity) {
        log::error!("{message}");
    }
    log::info!("Executed the capacity extended action successfully.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::extensions::{ByteQuantity, ByteUnit, PercentageQuantity};

    #[test]
    fn verdicts_and_messages_are_cedars() {
        let pct = |q: &str| CapacityLimit::MaxPercentage(PercentageQuantity { quantity: q.into() });
        let min = |q: &str, units| {
            CapacityLimit::MinBytes(ByteQuantity {
                quantity: q.into(),
                units,
            })
        };
        let c = MediaCapacity {
            used: 633 * 1024 * 1024,
            available: 367 * 1024 * 1024,
        };
        assert_eq!(
            verdict(&pct("63.2"), c).as_deref(),
            Some("Media has reached capacity limit of 63.2%: 63.30% utilized")
        );
        assert_eq!(verdict(&pct("63.4"), c), None);
        assert_eq!(
            verdict(&min("400", ByteUnit::Mbytes), c).as_deref(),
            Some("Media has reached capacity limit of 400.00 MB: only 367.00 MB available")
        );
        assert_eq!(verdict(&min("367", ByteUnit::Mbytes), c), None);
        let empty = MediaCapacity {
            used: 0,
            available: 0,
        };
        assert_eq!(empty.utilized(), 0.0);
    }
}
