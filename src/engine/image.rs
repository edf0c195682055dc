//! The one image builder: `cback mkisofs` and store both build their
//! ISO9660/Rock Ridge session here, from [`iso9660::Options`], graft points
//! and, for a later session, the previous session imported from any
//! [`iso9660::SectorSource`] (an image file, or the disc in a drive through
//! [`crate::engine::disc::DiscSource`]).
//!
//! The previous session is imported first and the graft points are added
//! over it, so new content replaces what is at its path, as with
//! `mkisofs -M`. The result is a planned [`iso9660::Layout`]: its size is
//! known before a byte is written and it streams in one pass.
//!
//! ```
//! use cedar::engine::image::ImageBuilder;
//! use iso9660::{GraftPoint, Options};
//!
//! let day = tempfile::tempdir()?;
//! std::fs::write(day.path().join("etc.tar.gz"), b"night one")?;
//! let mut b = ImageBuilder::new(Options { volume_id: "CEDAR BACKUP".into(), ..Options::default() });
//! b.graft(&GraftPoint { disc: b"2026/12/01".to_vec(), host: day.path().into() })?;
//! let layout = b.plan()?;
//! assert!(layout.sectors() > iso9660::PADDING);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use iso9660::{GraftPoint, Layout, Limits, Metadata, Options, Reader, SectorSource, Tree};

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The previous session could not be opened (no volume descriptors
    /// where it should start, a read error); nothing was built.
    #[error("session at block {session_start}")]
    Open {
        /// Block where the previous session should start.
        session_start: u32,
        /// What the reader said.
        #[source]
        source: iso9660::Error,
    },
    /// The previous session could not be imported (malformed or hostile:
    /// [`iso9660::Error::Imported`] names the entry); nothing was built.
    #[error("importing the session at block {session_start}")]
    Import {
        /// Block where the previous session starts.
        session_start: u32,
        /// What the importer said.
        #[source]
        source: iso9660::Error,
    },
    /// A graft point's host path could not be scanned.
    #[error("{}", host.display())]
    Graft {
        /// The host path of the graft point.
        host: PathBuf,
        /// What went wrong (the error names the failing path).
        #[source]
        source: iso9660::Error,
    },
    /// A session was imported after graft points were added: the import
    /// would replace new content with old, so it is refused.
    #[error("the previous session must be imported before any graft point is added")]
    ImportAfterGraft,
    /// The tree does not make a valid image (a name, size or address limit).
    #[error("planning the image")]
    Plan(#[source] iso9660::Error),
}

/// Builds one session: [`ImageBuilder::import`] (optional, first), then
/// [`ImageBuilder::graft`] for each graft point, then [`ImageBuilder::plan`].
#[derive(Debug)]
pub struct ImageBuilder {
    tree: Tree,
    options: Options,
    grafted: bool,
}

impl ImageBuilder {
    /// An empty session with these options. Directories implied by graft
    /// points get mode 0755, owner 0 and the options' timestamp.
    pub fn new(options: Options) -> ImageBuilder {
        ImageBuilder {
            tree: Tree::new(Metadata::new(0o755, 0, 0, options.timestamp)),
            options,
            grafted: false,
        }
    }

    /// Carries every entry of the session at `session_start` of `source`
    /// into this one (by its old extents: nothing is copied). Must come
    /// before the first graft point. `options.start_lba` must lie after the
    /// previous session's data, which planning checks.
    pub fn import<S: SectorSource>(
        &mut self,
        source: S,
        session_start: u32,
    ) -> Result<&mut Self, ImageError> {
        self.import_with(source, session_start, |_, _| ())?;
        Ok(self)
    }

    /// [`ImageBuilder::import`], then `then` called with the tree as
    /// imported and the reader of the previous session, before any graft
    /// point: for what the caller needs to read of the old session (store
    /// reads the days' old manifests).
    pub fn import_with<S: SectorSource, T>(
        &mut self,
        source: S,
        session_start: u32,
        then: impl FnOnce(&Tree, &mut Reader<S>) -> T,
    ) -> Result<T, ImageError> {
        if self.grafted {
            return Err(ImageError::ImportAfterGraft);
        }
        let mut reader =
            Reader::from_source(source, session_start, Limits::default()).map_err(|source| {
                ImageError::Open {
                    session_start,
                    source,
                }
            })?;
        self.tree
            .import_session(&mut reader)
            .map_err(|source| ImageError::Import {
                session_start,
                source,
            })?;
        Ok(then(&self.tree, &mut reader))
    }

    /// Adds a graft point (`disc` path inside the image, `host` path) with
    /// mkisofs `-graft-points` semantics.
    pub fn graft(&mut self, graft: &GraftPoint) -> Result<&mut Self, ImageError> {
        self.grafted = true;
        self.tree
            .add_graft(graft)
            .map_err(|source| ImageError::Graft {
                host: graft.host.clone(),
                source,
            })?;
        Ok(self)
    }

    /// Host paths skipped while scanning (sockets, which ISO9660 cannot hold).
    pub fn skipped(&self) -> &[PathBuf] {
        self.tree.skipped()
    }

    /// The tree so far, for callers that add entries by hand.
    pub fn tree_mut(&mut self) -> &mut Tree {
        &mut self.tree
    }

    /// The options the session will be planned with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Plans the session: every address fixed, the size known
    /// ([`Layout::sectors`], padding included).
    pub fn plan(self) -> Result<Layout, ImageError> {
        Layout::plan(self.tree, self.options).map_err(ImageError::Plan)
    }
}

/// [`ImageBuilder`] in one call: the session at `previous.1` of
/// `previous.0` imported (when given), then `grafts`, planned with `options`.
pub fn build<S: SectorSource>(
    options: Options,
    grafts: &[GraftPoint],
    previous: Option<(S, u32)>,
) -> Result<Layout, ImageError> {
    let mut b = ImageBuilder::new(options);
    if let Some((source, start)) = previous {
        b.import(source, start)?;
    }
    for g in grafts {
        b.graft(g)?;
    }
    b.plan()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iso9660::ReadSeekSource;
    use std::io::Cursor;

    fn opts(start: u32) -> Options {
        Options {
            volume_id: "T".into(),
            start_lba: start,
            timestamp: 1_700_000_000,
            ..Options::default()
        }
    }

    #[test]
    fn a_second_session_keeps_the_first_and_adds_the_graft() {
        let d1 = tempfile::tempdir().unwrap();
        std::fs::write(d1.path().join("a"), b"one").unwrap();
        let g1 = GraftPoint {
            disc: b"2026/11/30".to_vec(),
            host: d1.path().into(),
        };
        let mut l1 = build::<ReadSeekSource<Cursor<Vec<u8>>>>(opts(0), &[g1], None).unwrap();
        let mut img = Vec::new();
        l1.write(&mut img, &mut ()).unwrap();
        let next = l1.sectors();

        let d2 = tempfile::tempdir().unwrap();
        std::fs::write(d2.path().join("b"), b"two").unwrap();
        let g2 = GraftPoint {
            disc: b"2026/12/01".to_vec(),
            host: d2.path().into(),
        };
        let src = ReadSeekSource(Cursor::new(img.clone()));
        let mut l2 = build(opts(next), &[g2], Some((src, 0))).unwrap();
        let mut s2 = Vec::new();
        l2.write(&mut s2, &mut ()).unwrap();
        img.extend_from_slice(&s2);
        let mut r = Reader::open_at(Cursor::new(img), next).unwrap();
        for (p, want) in [("/2026/11/30/a", &b"one"[..]), ("/2026/12/01/b", b"two")] {
            let e = r.lookup(p).unwrap().unwrap();
            assert_eq!(r.read_to_vec(&e).unwrap(), want);
        }
    }

    #[test]
    fn errors_are_typed() {
        let mut b = ImageBuilder::new(opts(0));
        let missing = GraftPoint {
            disc: Vec::new(),
            host: "/nonexistent/cedar-image-test".into(),
        };
        assert!(matches!(b.graft(&missing), Err(ImageError::Graft { .. })));
        let src = ReadSeekSource(Cursor::new(vec![0u8; 40 * 2048]));
        assert!(matches!(
            b.import(src, 0),
            Err(ImageError::ImportAfterGraft)
        ));
        let mut b = ImageBuilder::new(opts(100));
        let src = ReadSeekSource(Cursor::new(vec![0u8; 40 * 2048]));
        let e = b.import(src, 0).unwrap_err();
        assert!(
            matches!(
                e,
                ImageError::Open {
                    session_start: 0,
                    ..
                }
            ),
            "{e}"
        );
        let b = ImageBuilder::new(Options {
            volume_id: "X".repeat(40),
            ..opts(0)
        });
        assert!(matches!(b.plan(), Err(ImageError::Plan(_))));
    }
}
