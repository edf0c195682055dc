//! `cback span [switches]`: Cedar's `cback3-span`. Staged days that fit no
//! single disc are spread over several, with Cedar's dialogue: the store
//! configuration shown and confirmed, the days not yet stored
//! (`<store><source_dir>/*/*/*` without `cback.store`) and their size, a
//! capacity cushion (default 4.5%), one of Cedar's four fits (default
//! worst) with the discs it gives, then each disc asked for, written as a
//! new disc through the same writer as `store` and checked with
//! `check_data`. Only when every disc is written are the days marked with
//! `cback.store`.
//!
//! Each disc holds its files where store would put them
//! (`/YYYY/MM/DD/PEER/NAME`, the path below `source_dir`), with a
//! `cback.manifest` for the part of each day it holds (unless `<manifest>`
//! is off), so `cback verify` and `cback restore` read span discs as any
//! other; restoring every disc gives back the whole staging data.
//!
//! The files are listed in directory order (as Cedar's `os.listdir`:
//! [`Order::Directory`]) and
//! fitted by [`crate::knapsack`], so the same staging tree, capacity and
//! answers give Cedar's discs. The media capacity is Cedar's for the
//! configured media type (650 or 700 MiB, 4.4 GiB; the drive's nominal one
//! for Blu-ray), capped at what the drive reports a new disc of the medium
//! in it holds when span starts (a real DVD±R holds less than Cedar's 4.4
//! GiB); a disc at least that large gives Cedar's discs, and a drive that
//! reports 0 blocks, or a finalized disc, leaves Cedar's capacity. Every
//! disc's image is planned against that capacity before the first one is
//! asked for: a disc whose image (directories, padding and manifests
//! included) would not fit stops the run before anything is written,
//! naming the disc and its days.
//!
//! Beyond Cedar: span holds the run lock (`<working_dir>/cback.lock`), so
//! a `cback all` from cron cannot use the drive meanwhile; a write-once
//! disc that is not blank is refused (a session there would sit behind the
//! disc's earlier volumes), and so is a rewritable disc that still holds
//! the volume this run wrote on an earlier disc (the disc was not
//! replaced: blanking it would lose that disc); and the consistency check
//! reads the disc through the drive, without mount or root.
//!
//! Answers are read line by line from standard input whether or not it is
//! a terminal, as Cedar's `input()` reads them; prompts go to standard
//! output. An empty answer takes the default shown. Yes/no questions take
//! an answer starting with `y` or `Y` as yes and anything else as no; a no
//! to any "Continue?" question ends the run with nothing written (exit 0).
//! End of input where an answer is due is an error (exit 6), nothing
//! marked. Exit status as Cedar's: 2 bad switches, 3 logging, 4
//! configuration, 5 interrupted, 6 failure.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::actions::ext::staged;
use crate::cli::Options;
use crate::config::{Settings, StoreSettings};
use crate::engine::burn::BurnReport;
use crate::engine::disc::VolumeSummary;
use crate::engine::progress::Meter;
use crate::engine::schedule::{media_label, STORE_INDICATOR};
use crate::engine::util::{display_bytes, display_size, write_indicator};
use crate::engine::walk::Order;
use crate::engine::writer::{DiscWriter, Entries, Plan};
use crate::knapsack::{self, Algorithm};
use crate::tools::startup::{self, Tool};

const USAGE: &str = "
 Usage: cback span [switches]

 Cedar Backup 'span' tool (Cedar's cback3-span).

 This Cedar Backup utility spans staged data between multiple discs.
 It is a utility, not an extension, and requires user interaction:
 answers are read from standard input, one line each.

 The following switches are accepted, mostly to set up underlying
 Cedar Backup functionality:

   -h, --help     Display this usage/help listing
   -V, --version  Display version information
   -b, --verbose  Print verbose output as well as logging to disk
   -c, --config   Path to config file (default: /etc/cback3.conf)
   -l, --logfile  Path to logfile (default: /var/log/cback3.log)
   -o, --owner    Logfile ownership, user:group (default: root:adm)
   -m, --mode     Octal logfile permissions mode (default: 640)
   -O, --output   Record some sub-command output to the log
   -d, --debug    Write debugging information to the log (implies --output)
   -s, --stack    Show full error detail instead of one line
       --dry-run  Ask everything, plan every disc, write nothing (cedar addition)

";

/// Cedar's default cushion, in percent of the media capacity.
pub const DEFAULT_CUSHION: f64 = 4.5;
/// Cedar's default fit.
pub const DEFAULT_ALGORITHM: Algorithm = Algorithm::Worst;

/// The tool's start-up.
const TOOL: Tool = Tool {
    usage: USAGE,
    run: "Cedar Backup 'span' utility run",
};

/// Runs `cback span ARGS...`; returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let parsed = Options::parse_switches(args).map(|o| (o, ()));
    TOOL.main(parsed, |options, ()| {
        let settings = startup::settings(options)?;
        let stdin = std::io::stdin();
        let mut console = Console {
            input: stdin.lock(),
            output: std::io::stdout(),
        };
        Ok(run(&settings, &mut console, options.dry_run)?)
    })
}

/// The questions and answers: prompts to `output`, answers from `input`.
pub struct Console<R, W> {
    /// Where answers come from, one line each.
    pub input: R,
    /// Where the dialogue goes.
    pub output: W,
}

impl<R: BufRead, W: Write> Console<R, W> {
    /// Prints one line.
    fn say(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.output, "{line}").context("writing to standard output")?;
        Ok(())
    }

    /// Shows `prompt` (no newline) and reads one line, without its line end.
    fn ask(&mut self, prompt: &str) -> anyhow::Result<String> {
        write!(self.output, "{prompt}").context("writing to standard output")?;
        self.output.flush().context("writing to standard output")?;
        let mut line = String::new();
        let n = self
            .input
            .read_line(&mut line)
            .context("reading an answer from standard input")?;
        if n == 0 {
            // Leave the prompt's line ended for whoever reads the output.
            let _ = writeln!(self.output);
            let question = prompt.lines().last().unwrap_or(prompt).trim_end();
            anyhow::bail!("end of input where an answer was due (\"{question}\")");
        }
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string())
    }

    /// Cedar's `_getYesNoAnswer`.
    fn yes_no(&mut self, prompt: &str, default_yes: bool) -> anyhow::Result<bool> {
        let shown = if default_yes { "[Y/n]" } else { "[y/N]" };
        let answer = self.ask(&format!("{prompt} {shown}: "))?;
        Ok(match answer.chars().next() {
            None => default_yes,
            Some(c) => c == 'y' || c == 'Y',
        })
    }

    /// Cedar's `_getChoiceAnswer` for the fits.
    fn algorithm(&mut self, prompt: &str, default: Algorithm) -> anyhow::Result<Algorithm> {
        let prompt = format!("{prompt} [{}]: ", default.name());
        let mut answer = self.ask(&prompt)?;
        if answer.is_empty() {
            return Ok(default);
        }
        loop {
            if let Some(a) = Algorithm::from_name(&answer) {
                return Ok(a);
            }
            let names: Vec<String> = Algorithm::ALL
                .iter()
                .map(|(_, n)| format!("'{n}'"))
                .collect();
            self.say(&format!("Choice must be one of [{}]", names.join(", ")))?;
            answer = self.ask(&prompt)?;
        }
    }

    /// Cedar's `_getFloat`: Python's `float()` spellings.
    fn float(&mut self, prompt: &str, default: f64) -> anyhow::Result<f64> {
        let prompt = format!("{prompt} [{default:.2}]: ");
        loop {
            let answer = self.ask(&prompt)?;
            if answer.is_empty() {
                return Ok(default);
            }
            match crate::py::num::py_float(&answer) {
                Some(v) => return Ok(v),
                None => self.say("Enter a floating point number.")?,
            }
        }
    }

    /// Cedar's `_getReturn`.
    fn wait_return(&mut self, prompt: &str) -> anyhow::Result<()> {
        self.ask(prompt).map(|_| ())
    }
}

/// One staged file (or symlink) to span: where it is and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedFile {
    /// The path in staging.
    pub host: PathBuf,
    /// Its path on the disc: the path below `source_dir`, as bytes (the
    /// name need not be UTF-8).
    pub disc: Vec<u8>,
    /// The daily directory's disc path (`YYYY/MM/DD`).
    pub day: String,
    /// Bytes (0 for a symlink, as Cedar counts it).
    pub size: f64,
}

/// The days not yet stored and their files, in Cedar's order.
#[derive(Debug, Default)]
pub struct Staged {
    /// The daily directories (`source_dir/Y/M/D` without `cback.store`).
    pub days: Vec<PathBuf>,
    /// Every file and symlink below them.
    pub files: Vec<StagedFile>,
}

impl Staged {
    /// Bytes of the regular files (Cedar's `totalSize`: symlinks left out).
    pub fn total_size(&self) -> f64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Cedar's `_findDailyDirs`: `source/*/*/*` without `cback.store`, then
/// every file below them, each directory in directory order (Cedar's
/// `os.listdir`, on which its fits depend). A symlink (to a file or a
/// directory) is an entry of its own, of size 0, as Cedar counts it; a
/// dangling one, a socket or a device is left out as Cedar leaves it out.
pub fn find_staged(source: &Path) -> anyhow::Result<Staged> {
    if !source.is_dir() {
        anyhow::bail!(
            "Source directory [{}] is not a directory or does not exist on disk.",
            source.display()
        );
    }
    let days = staged::daily_dirs_in(source, STORE_INDICATOR, Order::Directory)?;
    let mut files = Vec::new();
    for day in &days {
        let day_path = relative(source, day)?;
        for host in staged::day_contents(day, Order::Directory)? {
            let meta = fs::symlink_metadata(&host)
                .with_context(|| format!("reading {}", host.display()))?;
            files.push(StagedFile {
                disc: {
                    use std::os::unix::ffi::OsStrExt;
                    let rel = host.strip_prefix(source).unwrap_or(&host);
                    rel.as_os_str().as_bytes().to_vec()
                },
                day: day_path.clone(),
                size: if meta.file_type().is_symlink() {
                    0.0
                } else {
                    meta.len() as f64
                },
                host,
            });
        }
    }
    Ok(Staged { days, files })
}

fn relative(source: &Path, path: &Path) -> anyhow::Result<String> {
    let rel = path.strip_prefix(source).unwrap_or(path);
    rel.to_str()
        .map(str::to_string)
        .with_context(|| format!("{}: the name is not valid UTF-8", path.display()))
}

/// Cedar's capacity of the configured media, in bytes (its floating-point
/// arithmetic: `convertSize(650.0, MB, SECTORS)` sectors of 2048 bytes);
/// the drive's nominal one for Blu-ray, which Cedar did not know.
pub fn media_capacity(store: &StoreSettings) -> f64 {
    use crate::config::MediaType as M;
    const MIB: f64 = 1024.0 * 1024.0;
    const SECTOR: f64 = 2048.0;
    let bytes = match store.media {
        M::Cdr74 | M::Cdrw74 => 650.0 * MIB,
        M::Cdr80 | M::Cdrw80 => 700.0 * MIB,
        M::DvdPlusR | M::DvdPlusRw | M::DvdMinusR | M::DvdMinusRw => 4.4 * MIB * 1024.0,
        M::BdR | M::BdRe => f64::from(store.media.mmc().capacity) * SECTOR,
    };
    (bytes / SECTOR) * SECTOR
}

/// The bytes a new disc of the medium in the drive holds, from what the
/// drive reports ([`DiscWriter::new_disc_blocks`]); None when there is no
/// disc to measure or the drive does not tell (0 blocks, a finalized disc).
fn measure_disc(store: &StoreSettings) -> Option<f64> {
    match open_writer(store).and_then(|mut w| w.new_disc_blocks()) {
        Ok(Some(blocks)) => Some(f64::from(blocks) * mmc::BLOCK_SIZE as f64),
        Ok(None) => {
            log::info!(
                "The disc in {} does not report its capacity: the media's is used.",
                store.target_device
            );
            None
        }
        Err(e) => {
            log::info!("No disc to measure in {}: {e:#}", store.target_device);
            None
        }
    }
}

/// One disc of the accepted solution.
struct SpanDisc {
    entries: Entries,
    files: usize,
}

fn python_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn python_opt<T: std::fmt::Display>(v: Option<&T>) -> String {
    v.map_or_else(|| "None".to_string(), ToString::to_string)
}

/// Opens the writer for one disc.
fn open_writer(store: &StoreSettings) -> anyhow::Result<DiscWriter<'_>> {
    DiscWriter::open(store, Meter::for_terminal())
}

/// The run after the configuration is read: the whole dialogue, each disc
/// written and checked, then the days marked. With `dry_run` (cedar's
/// `--dry-run`) it stops once every disc of the accepted solution is
/// planned, writing and marking nothing.
pub fn run<R: BufRead, W: Write>(
    settings: &Settings,
    console: &mut Console<R, W>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let store = settings
        .store
        .as_ref()
        .context("Store configuration is not properly filled in.")?;
    let lock = crate::lock::RunLock::acquire(&settings.options.working_dir)?;
    log::debug!("Holding run lock {}", lock.path().display());
    let now = crate::app::run_time(
        std::env::var_os(crate::app::TODAY_VAR).as_deref(),
        chrono::Local::now(),
    )
    .map_err(anyhow::Error::msg)?;
    let c = console;
    c.say("")?;
    c.say("================================================")?;
    c.say("           Cedar Backup 'span' tool")?;
    c.say("================================================")?;
    c.say("")?;
    c.say("This the Cedar Backup span tool.  It is used to split up staging")?;
    c.say("data when that staging data does not fit onto a single disc.")?;
    c.say("")?;
    c.say("This utility operates using Cedar Backup configuration.  Configuration")?;
    c.say("specifies which staging directory to look at and which writer device")?;
    c.say("and media type to use.")?;
    c.say("")?;
    if !c.yes_no("Continue?", true)? {
        return Ok(());
    }
    c.say("===")?;
    c.say("")?;
    c.say("Cedar Backup store configuration looks like this:")?;
    c.say("")?;
    let rows = [
        (
            "Source Directory...",
            store.source_dir.display().to_string(),
        ),
        ("Media Type.........", store.media.name().to_string()),
        ("Device Type........", store.device_type.name().to_string()),
        ("Device Path........", store.target_device.clone()),
        ("Device SCSI ID.....", python_opt(store.scsi_id.as_ref())),
        ("Drive Speed........", python_opt(store.speed.as_ref())),
        ("Check Data Flag....", python_bool(store.check_data).into()),
        ("No Eject Flag......", python_bool(store.no_eject).into()),
    ];
    for (k, v) in rows {
        c.say(&format!("   {k}: {v}"))?;
    }
    c.say("")?;
    if !c.yes_no("Is this OK?", true)? {
        return Ok(());
    }
    c.say("===")?;
    let nominal = media_capacity(store);
    let in_drive = measure_disc(store);
    c.say("")?;
    c.say("Please wait, indexing the source directory (this may take a while)...")?;
    let staged = find_staged(&store.source_dir)?;
    c.say("===")?;
    c.say("")?;
    c.say("The following daily staging directories have not yet been written to disc:")?;
    c.say("")?;
    for d in &staged.days {
        c.say(&format!("   {}", d.display()))?;
    }
    let total = staged.total_size();
    c.say("")?;
    c.say(&format!(
        "The total size of the data in these directories is {}.",
        display_size(total)
    ))?;
    c.say("")?;
    if !c.yes_no("Continue?", true)? {
        return Ok(());
    }
    c.say("===")?;
    c.say("")?;
    c.say(&format!(
        "Based on configuration, the capacity of your media is {}.",
        display_size(nominal)
    ))?;
    c.say("")?;
    c.say("Since estimates are not perfect and there is some uncertainly in")?;
    c.say("media capacity calculations, it is good to have a \"cushion\",")?;
    c.say("a percentage of capacity to set aside.  The cushion reduces the")?;
    c.say("capacity of your media, so a 1.5% cushion leaves 98.5% remaining.")?;
    c.say("")?;
    let cushion = c.float("What cushion percentage?", DEFAULT_CUSHION)?;
    c.say("===")?;
    if cushion.is_nan() || cushion >= 100.0 {
        anyhow::bail!("a cushion of {cushion}% leaves no capacity: it must be under 100");
    }
    let keep = (100.0 - cushion) / 100.0;
    let media = match in_drive {
        Some(disc) if disc < nominal => {
            c.say("")?;
            c.say(&format!(
                "The disc in {} holds only {}: its size is used instead.",
                store.target_device,
                display_size(disc)
            ))?;
            disc
        }
        _ => nominal,
    };
    let real = keep * media;
    let minimum = total / real + 1.0;
    c.say("")?;
    c.say(&format!(
        "The real capacity, taking into account the {cushion:.2}% cushion, is {}.",
        display_size(real)
    ))?;
    c.say(&format!(
        "It will take at least {} disc(s) to store your {} of data.",
        minimum.trunc(),
        display_size(total)
    ))?;
    c.say("")?;
    if !c.yes_no("Continue?", true)? {
        return Ok(());
    }
    c.say("===")?;

    let items: Vec<(usize, f64)> = staged
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (i, f.size))
        .collect();
    let solution = loop {
        c.say("")?;
        c.say("Which algorithm do you want to use to span your data across")?;
        c.say("multiple discs?")?;
        c.say("")?;
        c.say("The following algorithms are available:")?;
        c.say("")?;
        c.say("   first....: The \"first-fit\" algorithm")?;
        c.say("   best.....: The \"best-fit\" algorithm")?;
        c.say("   worst....: The \"worst-fit\" algorithm")?;
        c.say("   alternate: The \"alternate-fit\" algorithm")?;
        c.say("")?;
        c.say("If you don't like the results you will have a chance to try a")?;
        c.say("different one later.")?;
        c.say("")?;
        let algorithm = c.algorithm("Which algorithm?", DEFAULT_ALGORITHM)?;
        c.say("===")?;
        c.say("")?;
        c.say("Please wait, generating file lists (this may take a while)...")?;
        let discs = knapsack::span(&items, real, algorithm).map_err(|e| match e {
            knapsack::SpanError::TooBig { index, .. } => anyhow::anyhow!(
                "File [{}] cannot fit in capacity {}.",
                staged.files[index].host.display(),
                display_size(real)
            ),
        })?;
        c.say("===")?;
        c.say("")?;
        c.say(&format!(
            "Using the \"{}-fit\" algorithm, Cedar Backup can split your data",
            algorithm.name()
        ))?;
        c.say(&format!("into {} discs.", discs.len()))?;
        c.say("")?;
        for (n, d) in discs.iter().enumerate() {
            c.say(&format!(
                "Disc {}: {} files, {}, {:.2}% utilization",
                n + 1,
                d.items.len(),
                display_size(d.size),
                d.utilization
            ))?;
        }
        c.say("")?;
        let happy = c.yes_no("Accept this solution?", true)?;
        c.say("===")?;
        if happy {
            log::info!(
                "Spanning {} files over {} discs with the {}-fit algorithm.",
                staged.files.len(),
                discs.len(),
                algorithm.name()
            );
            break discs;
        }
    };

    let label = media_label(now.date_naive());
    let timestamp = now.timestamp();
    let mut discs = Vec::new();
    for (n, d) in solution.iter().enumerate() {
        let files: Vec<&StagedFile> = d.items.iter().map(|&i| &staged.files[i]).collect();
        let days: Vec<String> = files
            .iter()
            .map(|f| f.day.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let entries = Entries::files(
            files
                .iter()
                .map(|f| (f.host.clone(), f.disc.clone()))
                .collect(),
            &days,
        );
        let bytes =
            crate::engine::writer::image_bytes(&entries, &label, timestamp, store.manifest)?;
        if bytes as f64 > media {
            anyhow::bail!(
                "disc {} of {} (days {}): its image would be {} ({} blocks), more than the {} \
                 a disc holds: nothing was written; run again with a larger cushion",
                n + 1,
                solution.len(),
                days.join(", "),
                display_bytes(bytes),
                bytes / mmc::BLOCK_SIZE as u64,
                display_size(media)
            );
        }
        discs.push(SpanDisc {
            entries,
            files: files.len(),
        });
    }

    let count = discs.len();
    if dry_run {
        c.say("")?;
        c.say(&format!(
            "Dry run: all {count} disc images fit the media; nothing is written."
        ))?;
        return Ok(());
    }
    let mut written = Vec::new();
    for (n, disc) in discs.iter().enumerate() {
        c.say("")?;
        if n == 0 {
            c.wait_return(
                "Please place the first disc in your backup device.\nPress return when ready.",
            )?;
        } else {
            c.wait_return(
                "Please replace the disc in your backup device.\nPress return when ready.",
            )?;
        }
        c.say("===")?;
        log::info!("Writing disc {} of {count} ({} files).", n + 1, disc.files);
        let job = DiscJob {
            store,
            entries: &disc.entries,
            label: &label,
            timestamp,
            written: &written,
        };
        let volume = job
            .write_disc(c)
            .with_context(|| format!("disc {} of {count}", n + 1))?;
        written.push(volume);
    }
    let ownership = crate::engine::util::backup_ownership(
        &settings.options.backup_user,
        &settings.options.backup_group,
    );
    for day in &staged.days {
        write_indicator(day, STORE_INDICATOR, ownership)?;
    }
    c.say("")?;
    c.say("Completed writing all discs.")?;
    drop(lock);
    Ok(())
}

/// What one disc gets and how it is labelled.
struct DiscJob<'a> {
    store: &'a StoreSettings,
    entries: &'a Entries,
    label: &'a str,
    timestamp: i64,
    /// The volumes written on the earlier discs of the run.
    written: &'a [VolumeSummary],
}

/// A writer with the disc's session planned.
struct Prepared<'s> {
    writer: DiscWriter<'s>,
    plan: Plan,
}

impl<'a> DiscJob<'a> {
    /// Cedar's `_writeDisc`: initialize, write, consistency check, each
    /// step offered again when it fails. Returns the volume written.
    fn write_disc<R: BufRead, W: Write>(
        &self,
        c: &mut Console<R, W>,
    ) -> anyhow::Result<VolumeSummary> {
        c.say("")?;
        let prepared = run_step(c, &mut Initialize { job: self })?;
        let written = self.write(c, Some(prepared))?;
        let report = if self.store.check_data {
            let mut check = Check {
                job: self,
                written: Some(written),
            };
            run_step(c, &mut check)?
        } else {
            written.1
        };
        c.say("Write process is complete.")?;
        c.say("===")?;
        Ok(VolumeSummary {
            session_start: report.session_start,
            label: self.label.to_string(),
            end: report.volume_end,
        })
    }

    /// Cedar's `_discWriteImage`: writes the prepared session (planning it
    /// again after the disc may have been replaced).
    fn write<R: BufRead, W: Write>(
        &self,
        c: &mut Console<R, W>,
        prepared: Option<Prepared<'a>>,
    ) -> anyhow::Result<(DiscWriter<'a>, BurnReport)> {
        run_step(
            c,
            &mut WriteImage {
                job: self,
                prepared,
            },
        )
    }

    /// Opens the drive and plans the session: a new disc holding only this
    /// disc's files. A write-once disc must be blank; a rewritable one is
    /// blanked or formatted when written.
    fn prepare(&self) -> anyhow::Result<Prepared<'a>> {
        let mut writer = open_writer(self.store)?;
        // Read only (an interrupted track is not closed here): a disc that
        // is refused below must not have been changed; `plan` closes one on
        // the disc it goes on to blank.
        let placement = writer.placement(true)?;
        if !placement.profile.erasable() && placement.state != mmc::MediaState::Blank {
            anyhow::bail!(
                "the {} disc in {} is not blank: each span disc must be a new one",
                placement.profile,
                self.store.target_device
            );
        }
        if let Some(k) = placement
            .volume
            .as_ref()
            .and_then(|v| self.written.iter().position(|w| w == v))
        {
            anyhow::bail!(
                "the disc in {} is disc {} of this span, already written: put in the next disc",
                self.store.target_device,
                k + 1
            );
        }
        let plan = writer.plan(self.entries, self.label, true, self.timestamp, false)?;
        if !plan.fits() {
            anyhow::bail!(
                "{}: {}",
                self.store.target_device,
                mmc::MediumError::DoesNotFit {
                    need_blocks: plan.layout.sectors(),
                    free_blocks: plan.placement.free_blocks,
                }
            );
        }
        Ok(Prepared { writer, plan })
    }
}

/// What Cedar's dialogue says around one step of writing a disc.
struct StepText {
    /// Before each attempt.
    start: &'static str,
    /// When it succeeded.
    done: &'static str,
    /// Logged, as an error, before the failure.
    failed: &'static str,
    /// The question whether to try again.
    retry: &'static str,
}

/// One step of writing a disc, tried until it succeeds or the answer to
/// its retry question is no.
trait Step {
    /// What the step gives when it succeeds.
    type Output;
    /// Its dialogue.
    const TEXT: StepText;
    /// One attempt.
    fn attempt(&mut self) -> anyhow::Result<Self::Output>;
    /// After a failure to be retried: what to ask first, and the prompt to
    /// wait on while the disc is replaced, if it is to be.
    fn retry<R: BufRead, W: Write>(
        &mut self,
        _c: &mut Console<R, W>,
    ) -> anyhow::Result<Option<&'static str>> {
        Ok(None)
    }
    /// After the disc was replaced, before the next attempt (a failure
    /// here ends the run, as in Cedar, where it is raised in the `except`
    /// clause).
    fn replaced<R: BufRead, W: Write>(&mut self, _c: &mut Console<R, W>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Cedar's retry loop of `_discInitializeImage`, `_discWriteImage` and
/// `_discConsistencyCheck`: the attempt, its failure logged, the retry
/// question (no: the failure is the run's), the step's own questions,
/// "Ok, attempting retry.", the wait for a replaced disc when there is
/// one, then again.
fn run_step<S: Step, R: BufRead, W: Write>(
    c: &mut Console<R, W>,
    step: &mut S,
) -> anyhow::Result<S::Output> {
    let mut replaced = false;
    loop {
        if replaced {
            step.replaced(c)?;
        }
        c.say(S::TEXT.start)?;
        match step.attempt() {
            Ok(out) => {
                c.say(S::TEXT.done)?;
                return Ok(out);
            }
            Err(e) => {
                log::error!("{}: {e:#}", S::TEXT.failed);
                if !c.yes_no(S::TEXT.retry, true)? {
                    return Err(e);
                }
                let replace = step.retry(c)?;
                c.say("Ok, attempting retry.")?;
                if let Some(prompt) = replace {
                    c.wait_return(prompt)?;
                }
                c.say("===")?;
                replaced = replace.is_some();
            }
        }
    }
}

/// Cedar's `_discInitializeImage`: the drive opened, the disc checked and
/// the session planned.
struct Initialize<'j, 'a> {
    job: &'j DiscJob<'a>,
}

impl<'a> Step for Initialize<'_, 'a> {
    type Output = Prepared<'a>;
    const TEXT: StepText = StepText {
        start: "Initializing image...",
        done: "Completed initializing image.",
        failed: "Failed to initialize image",
        retry: "Retry initialization step?",
    };

    fn attempt(&mut self) -> anyhow::Result<Prepared<'a>> {
        self.job.prepare()
    }
}

/// Cedar's `_discWriteImage`: the prepared session written, or after a
/// failure the disc (maybe replaced) prepared again and written.
struct WriteImage<'j, 'a> {
    job: &'j DiscJob<'a>,
    prepared: Option<Prepared<'a>>,
}

impl<'a> Step for WriteImage<'_, 'a> {
    type Output = (DiscWriter<'a>, BurnReport);
    const TEXT: StepText = StepText {
        start: "Writing image to disc...",
        done: "Completed writing image.",
        failed: "Failed to write image",
        retry: "Retry this step?",
    };

    fn attempt(&mut self) -> anyhow::Result<Self::Output> {
        // Taken: after a failure the drive is closed while the disc may be
        // replaced, and planned again.
        let mut p = match self.prepared.take() {
            Some(p) => p,
            None => self.job.prepare()?,
        };
        let report = p.writer.write(&mut p.plan)?;
        Ok((p.writer, report))
    }

    fn retry<R: BufRead, W: Write>(
        &mut self,
        _c: &mut Console<R, W>,
    ) -> anyhow::Result<Option<&'static str>> {
        Ok(Some(
            "Please replace media if needed.\nPress return when ready.",
        ))
    }
}

/// Cedar's `_discConsistencyCheck`: the disc just written read back
/// through the drive; after a failure, rewritten on a replaced disc when
/// asked.
struct Check<'j, 'a> {
    job: &'j DiscJob<'a>,
    /// The drive and what was written (None once the disc is taken out to
    /// be rewritten, until it is).
    written: Option<(DiscWriter<'a>, BurnReport)>,
}

impl Step for Check<'_, '_> {
    type Output = BurnReport;
    const TEXT: StepText = StepText {
        start: "Running consistency check...",
        done: "Completed consistency check.",
        failed: "Consistency check failed",
        retry: "Retry the consistency check?",
    };

    fn attempt(&mut self) -> anyhow::Result<BurnReport> {
        let (writer, report) = self
            .written
            .as_mut()
            .context("the disc was not rewritten")?;
        writer.verify_files(report, self.job.entries)?;
        Ok(*report)
    }

    fn retry<R: BufRead, W: Write>(
        &mut self,
        c: &mut Console<R, W>,
    ) -> anyhow::Result<Option<&'static str>> {
        if !c.yes_no("Rewrite the disc first?", false)? {
            return Ok(None);
        }
        // The drive is closed while the disc is replaced.
        self.written = None;
        Ok(Some(
            "Please replace the disc in your backup device.\nPress return when ready.",
        ))
    }

    fn replaced<R: BufRead, W: Write>(&mut self, c: &mut Console<R, W>) -> anyhow::Result<()> {
        self.written = Some(self.job.write(c, None)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(input: &str) -> Console<&[u8], Vec<u8>> {
        Console {
            input: input.as_bytes(),
            output: Vec::new(),
        }
    }

    #[test]
    fn answers_as_cedar_reads_them() {
        let mut c = console("\ny\nYes\nn\n yes\n\n");
        assert!(c.yes_no("Continue?", true).unwrap());
        assert!(c.yes_no("Continue?", false).unwrap());
        assert!(c.yes_no("Continue?", false).unwrap());
        assert!(!c.yes_no("Continue?", true).unwrap());
        // Only the first character counts.
        assert!(!c.yes_no("Continue?", true).unwrap());
        assert!(!c.yes_no("Rewrite the disc first?", false).unwrap());
        let out = String::from_utf8(c.output).unwrap();
        assert!(
            out.starts_with("Continue? [Y/n]: Continue? [y/N]: "),
            "{out}"
        );
        let err = c_eof();
        assert!(
            err.contains("end of input") && err.contains("Continue? [Y/n]:"),
            "{err}"
        );
    }

    fn c_eof() -> String {
        let mut c = console("");
        format!("{:#}", c.yes_no("Continue?", true).unwrap_err())
    }

    #[test]
    fn staged_days_and_files_as_cedar_lists_them() {
        let t = tempfile::tempdir().unwrap();
        let s = t.path();
        let mk = |p: &str, data: &[u8]| {
            let p = s.join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        };
        mk("2026/03/02/host1/a.tar.gz", b"12345");
        mk("2026/03/02/host1/sub/b", b"xy");
        mk("2026/03/02/cback.stage", b"");
        mk("2026/03/03/host1/c", b"abc");
        mk("2026/03/03/cback.store", b"");
        mk("2026/stray-file", b"not a month");
        std::os::unix::fs::symlink("a.tar.gz", s.join("2026/03/02/host1/link")).unwrap();
        std::os::unix::fs::symlink("gone", s.join("2026/03/02/host1/dangling")).unwrap();
        std::os::unix::fs::symlink(s.join("2026/03/02"), s.join("2026/03/linked")).unwrap();
        let staged = find_staged(s).unwrap();
        // The stored day and the symlinked "day" are not listed.
        assert_eq!(staged.days, [s.join("2026/03/02")]);
        let mut got: Vec<(String, f64, String)> = staged
            .files
            .iter()
            .map(|f| {
                (
                    String::from_utf8_lossy(&f.disc).into_owned(),
                    f.size,
                    f.day.clone(),
                )
            })
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            ("2026/03/02/cback.stage", 0.0),
            ("2026/03/02/host1/a.tar.gz", 5.0),
            ("2026/03/02/host1/link", 0.0),
            ("2026/03/02/host1/sub/b", 2.0),
        ];
        assert_eq!(
            got,
            want.map(|(p, n)| (p.to_string(), n, "2026/03/02".to_string()))
        );
        // Symlinks count for nothing, as in Cedar's totalSize.
        assert_eq!(staged.total_size(), 7.0);
        assert!(find_staged(&s.join("none")).is_err());
    }

    #[test]
    fn choices_and_floats_loop_until_valid() {
        let mut c = console("fastest\nbest\n");
        assert_eq!(
            c.algorithm("Which algorithm?", Algorithm::Worst).unwrap(),
            Algorithm::Best
        );
        let out = String::from_utf8(c.output).unwrap();
        assert!(out.contains(
            "Choice must be one of ['first', 'best', 'worst', 'alternate']\nWhich algorithm? [worst]: "
        ));
        let mut c = console("\n");
        assert_eq!(
            c.algorithm("Which algorithm?", Algorithm::Worst).unwrap(),
            Algorithm::Worst
        );
        let mut c = console("lots\n 1_0.5 \n\n");
        assert_eq!(c.float("What cushion percentage?", 4.5).unwrap(), 10.5);
        assert_eq!(c.float("What cushion percentage?", 4.5).unwrap(), 4.5);
        let out = String::from_utf8(c.output).unwrap();
        assert!(out.starts_with(
            "What cushion percentage? [4.50]: Enter a floating point number.\nWhat cushion"
        ));
    }
}
