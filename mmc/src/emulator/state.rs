//! The emulated drive's persistent state (tray, disc structure, pending unit
//! attention) in a small versioned text file next to the image, written
//! atomically (temporary file, fsync, rename) so a crash leaves either the old
//! or the new state, never half of one.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::medium::{BgFormat, Medium, Session, Track};
use crate::profile::Profile;

/// First line of a state file; the number is the format version.
const MAGIC: &str = "cedar-mmc-emulator-state 1";

/// [`DriveState::save_in_place`] writes exactly one page.
const PAGE: usize = 4096;

/// What survives between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveState {
    /// The tray is open.
    pub tray_open: bool,
    /// The disc in the tray, if any.
    pub medium: Option<Medium>,
    /// A 6/28/00 unit attention is pending (the medium changed).
    pub unit_attention: bool,
}

impl DriveState {
    /// Serializes the state.
    pub fn to_text(&self) -> String {
        let mut s = format!("{MAGIC}\n");
        s += &format!("tray {}\n", if self.tray_open { "open" } else { "closed" });
        s += &format!("unit-attention {}\n", u8::from(self.unit_attention));
        if let Some(m) = &self.medium {
            s += &format!("medium {} {}\n", m.profile.key(), m.capacity);
            s += &format!("formatted {}\n", u8::from(m.formatted));
            s += &format!("finalized {}\n", u8::from(m.finalized));
            s += &format!("quick-blanked {}\n", u8::from(m.quick_blanked));
            s += &format!("bg-format {} {}\n", m.bg_format.key(), m.formatted_end);
            s += &format!("pow {}\n", u8::from(m.pow));
            for sess in &m.sessions {
                s += &format!("session {}\n", if sess.closed { "closed" } else { "open" });
                for t in &sess.tracks {
                    s += &format!(
                        "track {} {} {} {}{}\n",
                        t.start,
                        t.written,
                        t.reserved,
                        if t.closed { "closed" } else { "open" },
                        if t.damaged { " damaged" } else { "" }
                    );
                }
            }
        }
        s
    }

    /// Parses a state file's text; the error names the line.
    pub fn from_text(text: &str) -> Result<DriveState, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, l)) if l.trim() == MAGIC => {}
            Some((_, l)) => return Err(format!("line 1: {l:?} is not a version 1 state header")),
            None => return Err("empty state file".into()),
        }
        let mut st = DriveState {
            tray_open: false,
            medium: None,
            unit_attention: false,
        };
        for (i, line) in lines {
            let n = i + 1;
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad = || format!("line {n}: cannot read {line:?}");
            let flag = |w: Option<&&str>| match w {
                Some(&"1") => Ok(true),
                Some(&"0") => Ok(false),
                _ => Err(bad()),
            };
            let num = |w: Option<&&str>| w.and_then(|v| v.parse::<u32>().ok()).ok_or_else(bad);
            match words.first().copied() {
                None => continue,
                Some("tray") => st.tray_open = words.get(1) == Some(&"open"),
                Some("unit-attention") => st.unit_attention = flag(words.get(1))?,
                Some("medium") => {
                    let profile = words
                        .get(1)
                        .and_then(|k| Profile::from_key(k))
                        .ok_or_else(bad)?;
                    st.medium = Some(Medium {
                        profile,
                        capacity: num(words.get(2))?,
                        formatted: false,
                        quick_blanked: false,
                        finalized: false,
                        sessions: Vec::new(),
                        bg_format: BgFormat::None,
                        formatted_end: 0,
                        pow: false,
                    });
                }
                Some(key) => {
                    let m = st.medium.as_mut().ok_or_else(bad)?;
                    match key {
                        "formatted" => m.formatted = flag(words.get(1))?,
                        "finalized" => m.finalized = flag(words.get(1))?,
                        "quick-blanked" => m.quick_blanked = flag(words.get(1))?,
                        "pow" => m.pow = flag(words.get(1))?,
                        "bg-format" => {
                            m.bg_format = words
                                .get(1)
                                .and_then(|k| BgFormat::from_key(k))
                                .ok_or_else(bad)?;
                            m.formatted_end = num(words.get(2))?;
                        }
                        "session" => m.sessions.push(Session {
                            tracks: Vec::new(),
                            closed: words.get(1) == Some(&"closed"),
                        }),
                        "track" => {
                            let t = Track {
                                start: num(words.get(1))?,
                                written: num(words.get(2))?,
                                reserved: num(words.get(3))?,
                                closed: words.get(4) == Some(&"closed"),
                                damaged: words.get(5) == Some(&"damaged"),
                            };
                            m.sessions.last_mut().ok_or_else(bad)?.tracks.push(t);
                        }
                        _ => return Err(bad()),
                    }
                }
            }
        }
        Ok(st)
    }

    /// Reads a state file.
    pub fn load(path: &Path) -> Result<DriveState, String> {
        let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        DriveState::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Writes the state file atomically and durably (synced before the
    /// rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        self.save_as(path, true)
    }

    /// Overwrites the state file in place with one write of one page (the
    /// text padded with blanks, which parsing skips), which a killed
    /// process either made whole or not at all, and which costs no rename
    /// (ext4 flushes a file renamed over another). Returns false, writing
    /// nothing, when the text or the present file is larger than a page.
    pub fn save_in_place(&self, path: &Path) -> std::io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let text = self.to_text();
        if text.len() > PAGE {
            return Ok(false);
        }
        let f = match fs::OpenOptions::new().write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if f.metadata()?.len() > PAGE as u64 {
            return Ok(false);
        }
        let mut page = text.into_bytes();
        page.resize(PAGE, b' ');
        f.write_all_at(&page, 0)?;
        Ok(true)
    }

    /// Writes the state file atomically (a temporary file renamed over it,
    /// so a process killed at any point leaves the old or the new state);
    /// `sync` also makes it durable against a host crash before the rename.
    pub fn save_as(&self, path: &Path, sync: bool) -> std::io::Result<()> {
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = Path::new(&tmp_name);
        {
            let mut f = fs::File::create(tmp)?;
            f.write_all(self.to_text().as_bytes())?;
            if sync {
                f.sync_all()?;
            }
        }
        fs::rename(tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::MediaType;

    #[test]
    fn text_round_trip_keeps_every_field() {
        let mut m = Medium::blank(MediaType::by_name("cdr-80").unwrap());
        m.finalized = true;
        m.quick_blanked = true;
        m.bg_format = BgFormat::Suspended;
        m.formatted_end = 4096;
        m.pow = true;
        m.sessions.push(Session {
            tracks: vec![Track {
                start: 0,
                written: 500,
                reserved: 0,
                closed: true,
                damaged: false,
            }],
            closed: true,
        });
        m.sessions.push(Session {
            tracks: vec![Track {
                start: 11_900,
                written: 10,
                reserved: 32,
                closed: false,
                damaged: true,
            }],
            closed: false,
        });
        let st = DriveState {
            tray_open: true,
            medium: Some(m),
            unit_attention: true,
        };
        assert_eq!(DriveState::from_text(&st.to_text()).unwrap(), st);
    }

    #[test]
    fn a_state_saved_in_place_over_a_longer_one_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("disc.iso.state");
        let mut m = Medium::blank(MediaType::by_name("dvd+r").unwrap());
        for i in 0..3 {
            m.sessions.push(Session {
                tracks: vec![Track {
                    start: i * 10_000,
                    written: 5_000,
                    reserved: 0,
                    closed: true,
                    damaged: false,
                }],
                closed: true,
            });
        }
        let long = DriveState {
            tray_open: false,
            medium: Some(m.clone()),
            unit_attention: false,
        };
        long.save(&p).unwrap();
        m.sessions.truncate(1);
        let short = DriveState {
            medium: Some(m),
            ..long.clone()
        };
        assert!(short.save_in_place(&p).unwrap());
        assert_eq!(fs::metadata(&p).unwrap().len(), PAGE as u64);
        assert_eq!(DriveState::load(&p).unwrap(), short);
        assert!(long.save_in_place(&p).unwrap());
        assert_eq!(DriveState::load(&p).unwrap(), long);
    }

    #[test]
    fn bad_files_are_errors_naming_the_line() {
        assert!(DriveState::from_text("").is_err());
        assert!(DriveState::from_text("cedar-mmc-emulator-state 9\n").is_err());
        let e =
            DriveState::from_text("cedar-mmc-emulator-state 1\ntrack 1 2 3 open\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let e = DriveState::from_text("cedar-mmc-emulator-state 1\nmedium floppy 5\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
