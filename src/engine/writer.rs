//! The disc writer store, rebuild and initialize share, in the role of
//! Cedar's `CdWriter`/`DvdWriter`: it opens the configured drive (refusing
//! a mounted one and a medium that does not match `media_type` and
//! `device_type`), reads the label, decides where the session goes, blanks
//! or formats rewritable media for a new disc, builds the session in-process
//! with the earlier days imported, burns it through the FIFO, refreshes the
//! media (open and close the tray, unlock, with Cedar's delays) and reads it
//! back for `check_data`.
//!
//! Nothing here touches the staging directories: indicators are the
//! actions' business, written only after a write that succeeded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use iso9660::{GraftPoint, Layout, Options, RockRidge};
use mmc::{Drive, MediaState};

use crate::config::StoreSettings;
use crate::engine::burn::{self, BurnOptions, BurnReport};
use crate::engine::disc::{self, DiscSource, Placement};
use crate::engine::image::ImageBuilder;
use crate::engine::manifest::{Manifest, OldManifest, MANIFEST_NAME};
use crate::engine::progress::Meter;
use crate::engine::schedule::{medium_mismatch, StagedDay};
use crate::engine::util::display_bytes;

/// Write speed of 1x in kB/s, per medium family (what `drive_speed`
/// multiplies): CD 176, DVD 1385, BD 4495, as MMC's SET SPEED counts them.
pub fn speed_kbs(family: mmc::profile::Family, multiple: i64) -> u16 {
    let one = match family {
        mmc::profile::Family::Cd => 176,
        mmc::profile::Family::Dvd => 1385,
        mmc::profile::Family::Bd => 4495,
    };
    u16::try_from(multiple.saturating_mul(one).clamp(1, i64::from(u16::MAX))).unwrap_or(u16::MAX)
}

/// What one session holds: directories grafted at disc paths.
#[derive(Debug, Clone)]
pub struct Entries {
    /// `(host path, disc path)`: bytes, as host names are (day and
    /// directory grafts are ASCII).
    grafts: Vec<(PathBuf, Vec<u8>)>,
    /// The grafts that are days (`YYYY-MM-DD` by disc path): each gets a
    /// `cback.manifest` when the configuration allows.
    days: Vec<(String, String)>,
}

impl Entries {
    /// Staged days, each at `/YYYY/MM/DD`.
    pub fn days(days: &[StagedDay]) -> Entries {
        Entries {
            grafts: days
                .iter()
                .map(|d| (d.dir.clone(), d.disc_path().into_bytes()))
                .collect(),
            days: days.iter().map(|d| day_manifest(d.disc_path())).collect(),
        }
    }

    /// One host directory at `disc_path`.
    pub fn dir(host: &Path, disc_path: &str) -> Entries {
        Entries {
            grafts: vec![(host.to_path_buf(), disc_path.as_bytes().to_vec())],
            days: Vec::new(),
        }
    }

    /// Single files or symlinks, each `(host path, disc path)`, as a
    /// `cback span` disc holds them; `days` are the disc paths of the days
    /// they belong to (`YYYY/MM/DD`), each given a `cback.manifest` of the
    /// files this session holds when the configuration allows.
    pub fn files(files: Vec<(PathBuf, Vec<u8>)>, days: &[String]) -> Entries {
        Entries {
            grafts: files,
            days: days.iter().cloned().map(day_manifest).collect(),
        }
    }

    fn graft_points(&self) -> Vec<GraftPoint> {
        self.grafts
            .iter()
            .map(|(host, disc)| GraftPoint {
                disc: disc.clone(),
                host: host.clone(),
            })
            .collect()
    }
}

/// A day's disc path (`YYYY/MM/DD`) and the day its manifest names
/// (`YYYY-MM-DD`).
fn day_manifest(disc_path: String) -> (String, String) {
    let day = disc_path.replace('/', "-");
    (disc_path, day)
}

/// The session store is about to write: where, what it imports, its size.
#[derive(Debug)]
pub struct Plan {
    /// Where it goes (after blanking, when it starts a new disc).
    pub placement: Placement,
    /// The planned image.
    pub layout: Layout,
    /// It starts a new disc.
    pub new_disc: bool,
    /// The rewritable medium is blanked or formatted first.
    pub blank_first: bool,
}

impl Plan {
    /// Bytes of the session.
    pub fn bytes(&self) -> u64 {
        u64::from(self.layout.sectors()) * mmc::BLOCK_SIZE as u64
    }

    /// Whether it fits the free space it will have.
    pub fn fits(&self) -> bool {
        self.layout.sectors() <= self.placement.free_blocks
    }
}

/// Page 2A loading mechanism type of a tray (001b).
const TRAY: u8 = 1;

/// An opened drive, checked against the configuration.
#[derive(Debug)]
pub struct DiscWriter<'s> {
    store: &'s StoreSettings,
    drive: Drive,
    meter: Meter,
}

impl<'s> DiscWriter<'s> {
    /// Opens the store's device. Cedar's `createWriter` refuses a mounted
    /// device first; then the medium must be present and match
    /// `media_type` and `device_type`.
    pub fn open(store: &'s StoreSettings, meter: Meter) -> anyhow::Result<DiscWriter<'s>> {
        let device = &store.target_device;
        if let Some((source, point)) = crate::engine::mounts::mounted(&store.device) {
            anyhow::bail!(
                "Device [{device}] is currently mounted ({} on {}).",
                source.display(),
                point.display()
            );
        }
        let mut drive = Drive::open(device).with_context(|| format!("opening {device}"))?;
        let id = drive
            .identify()
            .with_context(|| format!("identifying {device}"))?;
        log::info!(
            "Device [{device}] is {} {} (revision {}).",
            id.vendor,
            id.product,
            id.revision
        );
        if !drive
            .medium_present()
            .with_context(|| format!("reading {device}"))?
        {
            anyhow::bail!("{device}: no medium in the drive");
        }
        let profile = drive
            .current_profile()
            .with_context(|| format!("reading {device}"))?;
        if let Some(m) = medium_mismatch(store.media, store.device_type, profile) {
            anyhow::bail!("{device}: {m}");
        }
        // Refused before any command that changes the disc.
        if let Some(why) =
            disc::write_protection(&mut drive).with_context(|| format!("reading {device}"))?
        {
            anyhow::bail!("{device}: {why}; nothing was written");
        }
        Ok(DiscWriter {
            store,
            drive,
            meter,
        })
    }

    /// The label of the newest volume on the disc (read natively).
    pub fn label(&mut self) -> anyhow::Result<Option<String>> {
        disc::volume_label(&mut self.drive)
            .with_context(|| format!("reading the label in {}", self.store.target_device))
    }

    /// Where an appended session would go, after closing a track an
    /// interrupted write left open (as a real drive allows).
    pub fn placement(&mut self, dry_run: bool) -> anyhow::Result<Placement> {
        let device = &self.store.target_device;
        let p = disc::placement(&mut self.drive).with_context(|| format!("reading {device}"))?;
        if p.interrupted.is_none() || dry_run {
            return Ok(p);
        }
        disc::close_interrupted(&mut self.drive)
            .with_context(|| format!("closing the interrupted track in {device}"))?;
        disc::placement(&mut self.drive).with_context(|| format!("reading {device}"))
    }

    /// Bytes free for an appended session (Cedar's `bytesAvailable`).
    pub fn available_bytes(&mut self) -> anyhow::Result<u64> {
        Ok(self.placement(true)?.free_bytes())
    }

    /// Plans the session: on a new disc only `entries` (a rewritable disc
    /// is blanked or formatted first); else appended, the previous session
    /// imported from the disc so every earlier day stays.
    pub fn plan(
        &mut self,
        entries: &Entries,
        label: &str,
        new_disc: bool,
        timestamp: i64,
        dry_run: bool,
    ) -> anyhow::Result<Plan> {
        let appended = self.placement(dry_run)?;
        if new_disc && !appended.profile.erasable() && appended.state != MediaState::Blank {
            log::warn!(
                "A new disc is due, but the write-once disc in {} is not blank: \
                 the session starts a new volume after the earlier ones.",
                self.store.target_device
            );
        }
        let (placement, blank_first) = session_placement(appended, new_disc);
        let previous = placement.import.map(|start| {
            log::info!("Importing the previous session at block {start}.");
            (DiscSource::new(&mut self.drive), start)
        });
        let manifests = if self.store.manifest {
            Manifests::Made
        } else {
            Manifests::Off
        };
        let builder = builder(
            entries,
            label,
            timestamp,
            placement.start_lba,
            previous,
            manifests,
        )?;
        for skipped in builder.skipped() {
            log::warn!("Skipping socket {}", skipped.display());
        }
        let layout = builder.plan()?;
        Ok(Plan {
            placement,
            layout,
            new_disc,
            blank_first,
        })
    }

    /// Cedar's estimate of the image (`getEstimatedImageSize`): the entries
    /// alone, as on a new disc, with each day's `cback.manifest` when the
    /// configuration writes one; exact here, since the layout is planned
    /// (the manifests are sized without reading the staged files).
    pub fn image_bytes(
        &self,
        entries: &Entries,
        label: &str,
        timestamp: i64,
    ) -> anyhow::Result<u64> {
        image_bytes(entries, label, timestamp, self.store.manifest)
    }

    /// Blanks (CD-RW, sequential DVD-RW) or formats (unformatted DVD+RW,
    /// DVD-RW restricted overwrite, BD-RE) when the plan says so, then
    /// refreshes the media as Cedar does after blanking; writes the
    /// session; refreshes again.
    pub fn write(&mut self, plan: &mut Plan) -> anyhow::Result<BurnReport> {
        let device = self.store.target_device.clone();
        if plan.blank_first {
            if plan.placement.overwritable {
                self.meter.phase("formatting");
                log::info!(
                    "Formatting the {} medium in {device}.",
                    plan.placement.profile
                );
                self.drive
                    .format()
                    .with_context(|| format!("formatting {device}"))?;
            } else {
                self.meter.phase("blanking");
                log::info!(
                    "Blanking the {} medium in {device}.",
                    plan.placement.profile
                );
                self.drive
                    .blank(mmc::BlankMode::Fast)
                    .with_context(|| format!("blanking {device}"))?;
            }
            self.refresh()?;
            let now =
                disc::placement(&mut self.drive).with_context(|| format!("reading {device}"))?;
            if now.start_lba != plan.placement.start_lba {
                anyhow::bail!(
                    "{device}: after blanking the session would start at block {}, not {}",
                    now.start_lba,
                    plan.placement.start_lba
                );
            }
            plan.placement = if plan.new_disc { now.new_disc() } else { now };
        }
        let options = BurnOptions {
            speed_kbs: self
                .store
                .speed
                .map(|x| speed_kbs(plan.placement.profile.family(), x)),
            ..BurnOptions::default()
        };
        log::info!(
            "Image size will be {} ({} blocks), written at block {} of {device}; {} free.",
            display_bytes(plan.bytes()),
            plan.layout.sectors(),
            plan.placement.start_lba,
            display_bytes(plan.placement.free_bytes())
        );
        let report = burn::burn(
            &mut self.drive,
            &mut plan.layout,
            &plan.placement,
            &options,
            &mut self.meter,
        )
        .with_context(|| format!("writing to {device}"))?;
        self.meter.done();
        let min_fill = report
            .fifo
            .min_buffered
            .map_or_else(|| "-".to_string(), |b| display_bytes(b as u64));
        log::info!(
            "Wrote {} blocks at block {} of {device} (volume end {}; FIFO fill never below {min_fill}).",
            report.blocks_written,
            report.session_start,
            report.volume_end,
        );
        self.refresh()?;
        Ok(report)
    }

    /// Cedar's `refreshMedia`: open and close the tray (unless `no_eject`
    /// or the drive has no tray: page 2A, as Cedar asks `cdrecord -prcap`;
    /// sleeping `eject_delay` after opening), unlock it, then sleep
    /// `refresh_media_delay`.
    pub fn refresh(&mut self) -> anyhow::Result<()> {
        let device = self.store.target_device.clone();
        if !self.store.no_eject && self.has_tray() {
            log::debug!("Opening and closing the tray of {device}.");
            self.drive
                .eject()
                .with_context(|| format!("opening the tray of {device}"))?;
            sleep(self.store.eject_delay, "after opening tray");
            self.drive
                .load()
                .with_context(|| format!("closing the tray of {device}"))?;
        }
        self.drive
            .allow_removal()
            .with_context(|| format!("unlocking the tray of {device}"))?;
        sleep(self.store.refresh_media_delay, "to stabilize media state");
        Ok(())
    }

    /// Whether the drive has a tray it can open and close by command, as
    /// Cedar's writer asks before it ejects (`cdrecord -prcap`'s "Loading
    /// mechanism type: tray" and "Does support ejection", from page 2A):
    /// a caddy, slot or pop-up drive, or one whose page 2A cannot be read,
    /// is left alone. (Cedar's DVD writer assumes a tray; cedar asks every
    /// drive, so a slot-loading DVD drive does not push the disc out.)
    fn has_tray(&mut self) -> bool {
        match self.drive.capabilities() {
            Ok(caps) => {
                let tray = caps.loading_mechanism == TRAY && caps.eject;
                if !tray {
                    log::debug!(
                        "{} has no tray to open and close (loading mechanism {}, eject {}).",
                        self.store.target_device,
                        caps.loading_mechanism,
                        caps.eject
                    );
                }
                tray
            }
            Err(e) => {
                log::debug!("{}", crate::engine::util::error_line(&e));
                false
            }
        }
    }

    /// `check_data`: every staged file of each day against the session just
    /// written, read back through the drive.
    pub fn verify(&mut self, report: &BurnReport, entries: &Entries) -> anyhow::Result<()> {
        self.meter.phase("verifying");
        // One reader for every day of the session.
        let mut session = crate::engine::verify::WrittenSession::open(&mut self.drive, report)
            .context("consistency check")?;
        for (host, disc_path) in &entries.grafts {
            // A day or a directory graft: ASCII.
            let disc_path = String::from_utf8_lossy(disc_path);
            log::debug!("Checking [{}] vs. [/{disc_path}].", host.display());
            let r = session
                .check_dir(host, &disc_path)
                .with_context(|| format!("consistency check of {}", host.display()))?;
            log::info!(
                "Consistency check completed for [{}].  No problems found ({} files, {}).",
                host.display(),
                r.files,
                display_bytes(r.bytes)
            );
        }
        self.meter.done();
        Ok(())
    }
}

impl DiscWriter<'_> {
    /// `check_data` for [`Entries::files`]: every file and symlink of the
    /// session against the disc, read back through the drive.
    pub fn verify_files(&mut self, report: &BurnReport, entries: &Entries) -> anyhow::Result<()> {
        self.meter.phase("verifying");
        let r = crate::engine::verify::check_files(&mut self.drive, report, &entries.grafts)
            .context("consistency check")?;
        log::info!(
            "Consistency check completed.  No problems found ({} files, {}).",
            r.files,
            display_bytes(r.bytes)
        );
        self.meter.done();
        Ok(())
    }

    /// The blocks a new disc of the loaded medium holds, as the drive
    /// reports them: the whole of a blank, appendable or overwritable
    /// medium (a rewritable one is blanked or overwritten for a new disc).
    /// None when the drive does not tell: a finalized write-once or CD-RW
    /// disc (its READ CAPACITY is only the recorded part), or a drive that
    /// reports 0 blocks (some do for an unformatted disc).
    pub fn new_disc_blocks(&mut self) -> anyhow::Result<Option<u32>> {
        let p = self.placement(true)?;
        let whole = p.overwritable || p.state != MediaState::Finalized;
        Ok((whole && p.capacity > 0).then_some(p.capacity))
    }
}
/// The bytes a new disc's image of `entries` takes (the estimate of
/// [`DiscWriter::image_bytes`], which is exact): directories, padding and,
/// with `manifest`, each day's `cback.manifest`, sized without reading the
/// staged files.
pub fn image_bytes(
    entries: &Entries,
    label: &str,
    timestamp: i64,
    manifest: bool,
) -> anyhow::Result<u64> {
    let manifests = if manifest {
        Manifests::Sized
    } else {
        Manifests::Off
    };
    let none: Option<(DiscSource<'_>, u32)> = None;
    let builder = builder(entries, label, timestamp, 0, none, manifests)?;
    Ok(u64::from(builder.plan()?.sectors()) * mmc::BLOCK_SIZE as u64)
}

/// Whether and how a session's days get their `cback.manifest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manifests {
    /// None (the configuration turns them off).
    Off,
    /// Of the right size, without reading the staged files (for planning).
    Sized,
    /// Made from the staged files (held in memory; staging is only read).
    Made,
}

/// The one builder of a session: volume `label`, Rock Ridge, `timestamp`,
/// starting at block `start`; the session at `previous` imported first
/// (on an appended disc), then `entries` grafted, then each day's
/// manifest added as `manifests` says. A day already on the disc (stored
/// again) merges with its imported self; its old manifest, read from
/// `previous` right after the import, gives the records of the files that
/// stay from the disc, and the new manifest replaces it.
pub fn builder<S: iso9660::SectorSource>(
    entries: &Entries,
    label: &str,
    timestamp: i64,
    start: u32,
    previous: Option<(S, u32)>,
    manifests: Manifests,
) -> anyhow::Result<ImageBuilder> {
    let options = Options {
        volume_id: label.to_string(),
        rock_ridge: Some(RockRidge::Rationalized),
        timestamp,
        start_lba: start,
        ..Options::default()
    };
    let mut builder = ImageBuilder::new(options);
    let mut old = BTreeMap::new();
    if let Some((source, at)) = previous {
        let read_old = manifests != Manifests::Off;
        old = builder.import_with(source, at, |tree, reader| {
            if read_old {
                old_manifests(tree, reader, &entries.days)
            } else {
                BTreeMap::new()
            }
        })?;
    }
    for g in entries.graft_points() {
        builder.graft(&g)?;
    }
    let meta = iso9660::Metadata::new(0o644, 0, 0, timestamp);
    for (disc_path, day) in &entries.days {
        let tree = builder.tree_mut();
        let old = old.get(disc_path);
        match manifests {
            Manifests::Off => break,
            Manifests::Sized => {
                crate::engine::manifest::add_sized_to_tree(tree, disc_path, day, meta, old)
                    .with_context(|| format!("sizing the manifest of /{disc_path}"))?;
            }
            Manifests::Made => {
                match crate::engine::manifest::add_to_tree(tree, disc_path, day, meta, old)
                    .with_context(|| format!("making the manifest of /{disc_path}"))?
                {
                    Some(m) => log::info!("Manifest of /{disc_path}: {} files.", m.files.len()),
                    None => {
                        log::warn!("/{disc_path} already holds a {MANIFEST_NAME}: kept as staged.")
                    }
                }
            }
        }
    }
    Ok(builder)
}

/// The `cback.manifest` each of `days` (disc path, day) held in the
/// session just imported into `tree`, read through `reader` before the
/// grafts; a day that held none is absent. A recorded size larger than a
/// manifest of the day could be is refused before it is read.
fn old_manifests<S: iso9660::SectorSource>(
    tree: &iso9660::Tree,
    reader: &mut iso9660::Reader<S>,
    days: &[(String, String)],
) -> BTreeMap<String, OldManifest> {
    let mut out = BTreeMap::new();
    for (disc_path, _) in days {
        let path = format!("/{disc_path}/{MANIFEST_NAME}");
        let entry = match reader.lookup(&path) {
            Ok(Some(e)) if e.kind == iso9660::EntryKind::File => e,
            Ok(_) => continue,
            Err(e) => {
                let why = format!("unreadable: {}", crate::engine::util::error_line(&e));
                out.insert(disc_path.clone(), Err(why));
                continue;
            }
        };
        let most = crate::engine::manifest::size_bound_in_tree(tree, disc_path).unwrap_or(0);
        let old = if entry.size > most {
            Err(format!(
                "its recorded size, {} bytes, is more than a manifest of the day can hold \
                 ({most} bytes)",
                entry.size
            ))
        } else {
            reader
                .read_to_vec(&entry)
                .map_err(|e| format!("unreadable: {}", crate::engine::util::error_line(&e)))
                .and_then(|b| Manifest::decode(&b).map_err(|e| e.to_string()))
        };
        match &old {
            Ok(m) => log::info!(
                "Read {path} from the disc: {} file(s), {} symlink(s).",
                m.files.len(),
                m.links.len()
            ),
            Err(why) => log::warn!("{path} on the disc is unusable: {why}."),
        }
        out.insert(disc_path.clone(), old);
    }
    out
}

/// Where the session goes, from where an appended one would (`appended`)
/// and whether it starts a new disc; and whether the medium is blanked or
/// formatted first. Overwritable media (DVD+RW, DVD-RW restricted
/// overwrite, BD-RE) start again by writing at block 0 and are formatted
/// only when new; CD-RW and sequential DVD-RW are blanked for a new disc;
/// write-once media take a new disc's session where the next one goes.
pub fn session_placement(appended: Placement, new_disc: bool) -> (Placement, bool) {
    let unformatted = appended.overwritable && appended.state == MediaState::Blank;
    let blank = new_disc
        && appended.profile.erasable()
        && !appended.overwritable
        && appended.state != MediaState::Blank;
    if blank {
        let blanked = Placement {
            state: MediaState::Blank,
            import: None,
            start_lba: 0,
            free_blocks: appended.capacity,
            volume: None,
            interrupted: None,
            ..appended
        };
        return (blanked, true);
    }
    let placement = if new_disc {
        appended.new_disc()
    } else {
        appended
    };
    (placement, unformatted)
}

fn sleep(seconds: Option<i64>, why: &str) {
    if let Some(s) = seconds.filter(|&s| s > 0) {
        log::debug!("Per configuration, sleeping {s} seconds {why}.");
        std::thread::sleep(Duration::from_secs(s.unsigned_abs()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmc::profile::Family;

    fn placed(profile: mmc::Profile, state: MediaState, start: u32) -> Placement {
        Placement {
            profile,
            state,
            overwritable: profile.overwritable(),
            import: (start > 0).then(|| {
                if profile.overwritable() {
                    0
                } else {
                    start - 100
                }
            }),
            start_lba: start,
            free_blocks: 1000 - start,
            capacity: 1000,
            volume: None,
            interrupted: None,
        }
    }

    #[test]
    fn where_a_new_disc_or_an_appended_session_goes() {
        use mmc::Profile::*;
        let go = |p, state, start, new| {
            let (pl, blank) = session_placement(placed(p, state, start), new);
            (pl.start_lba, pl.import.is_some(), pl.free_blocks, blank)
        };
        let app = MediaState::Appendable;
        let ow = MediaState::Overwritable;
        // Appending: where the drive says, the earlier days imported.
        assert_eq!(go(DvdPlusR, app, 300, false), (300, true, 700, false));
        assert_eq!(go(DvdPlusRw, ow, 304, false), (304, true, 696, false));
        // A new disc: CD-RW blanked, DVD+RW/BD-RE overwritten from 0,
        // write-once after the earlier sessions, nothing imported.
        assert_eq!(go(CdRw, app, 300, true), (0, false, 1000, true));
        assert_eq!(
            go(DvdMinusRwSequential, app, 300, true),
            (0, false, 1000, true)
        );
        assert_eq!(go(DvdPlusRw, ow, 304, true), (0, false, 1000, false));
        assert_eq!(go(BdRe, ow, 304, true), (0, false, 1000, false));
        assert_eq!(go(CdR, app, 300, true), (300, false, 700, false));
        // A blank disc needs no blanking; an unformatted overwritable one is
        // formatted whatever the plan.
        assert_eq!(
            go(CdRw, MediaState::Blank, 0, true),
            (0, false, 1000, false)
        );
        assert_eq!(
            go(BdRe, MediaState::Blank, 0, false),
            (0, false, 1000, true)
        );
    }

    #[test]
    fn a_sized_session_plans_as_large_as_the_made_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (name, len) in [("a", 5000), ("b", 70_000), ("c", 0)] {
            let host = dir.path().join(name);
            std::fs::write(&host, vec![7u8; len]).unwrap();
            files.push((host, format!("2026/03/02/host1/{name}").into_bytes()));
        }
        let entries = Entries::files(files, &["2026/03/02".to_string()]);
        let sectors = |m| {
            let none: Option<(DiscSource<'_>, u32)> = None;
            builder(&entries, "L", 1_700_000_000, 0, none, m)
                .unwrap()
                .plan()
                .unwrap()
                .sectors()
        };
        let off = sectors(Manifests::Off);
        assert_eq!(sectors(Manifests::Sized), sectors(Manifests::Made));
        assert!(sectors(Manifests::Made) > off);
        let bytes = image_bytes(&entries, "L", 1_700_000_000, true).unwrap();
        assert_eq!(bytes, u64::from(sectors(Manifests::Made)) * 2048);
    }

    #[test]
    fn drive_speed_is_a_multiple_of_the_family_base() {
        assert_eq!(speed_kbs(Family::Cd, 4), 704);
        assert_eq!(speed_kbs(Family::Dvd, 8), 11_080);
        assert_eq!(speed_kbs(Family::Bd, 6), 26_970);
        assert_eq!(speed_kbs(Family::Bd, 1000), u16::MAX);
    }
}
