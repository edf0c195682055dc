//! Carrying an earlier session into a new one: every entry of the session a
//! [`Reader`] has open is added to a [`Tree`], files keeping their old
//! extents, so the new session's directories describe old and new data.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::read::{EntryKind, Reader, SectorSource};
use crate::tree::{DeviceKind, FileData, NodeId, NodeKind, Tree};

impl Tree {
    /// Adds every entry of the session `reader` has open, at the same
    /// paths. Regular files keep their extents ([`FileData::Extents`]), hard
    /// links (same Rock Ridge serial) stay linked, and directories take the
    /// old metadata. Call it before adding new content, which then merges
    /// into the old directories.
    pub fn import_session<S: SectorSource>(&mut self, reader: &mut Reader<S>) -> Result<()> {
        let mut entries = Vec::new();
        reader.walk(|path, e| {
            entries.push((path.to_vec(), e.clone()));
            Ok(())
        })?;
        let root = self.root();
        *self.meta_mut(root) = reader.root().meta;
        let mut links: HashMap<u32, NodeId> = HashMap::new();
        for (path, e) in entries {
            let kind = match &e.kind {
                EntryKind::Directory => {
                    let id = self.mkdir_p(&path)?;
                    *self.meta_mut(id) = e.meta;
                    continue;
                }
                EntryKind::File => {
                    match e.serial.filter(|_| e.nlink > 1).and_then(|s| links.get(&s)) {
                        Some(&first) => NodeKind::HardLink(first),
                        None => {
                            let extents = if e.extents.is_empty() {
                                vec![(0, 0)]
                            } else {
                                e.extents.clone()
                            };
                            NodeKind::File {
                                data: FileData::Extents(extents),
                                size: e.size,
                            }
                        }
                    }
                }
                EntryKind::Symlink(target) => NodeKind::Symlink(target.clone()),
                EntryKind::CharDevice { major, minor } => NodeKind::Device {
                    kind: DeviceKind::Char,
                    major: *major,
                    minor: *minor,
                },
                EntryKind::BlockDevice { major, minor } => NodeKind::Device {
                    kind: DeviceKind::Block,
                    major: *major,
                    minor: *minor,
                },
                EntryKind::Fifo => NodeKind::Fifo,
                // Sockets have no place in a new image either.
                EntryKind::Socket => continue,
            };
            let is_primary = matches!(kind, NodeKind::File { .. });
            let id = self.add(&path, e.meta, kind).map_err(|err| match err {
                Error::Invalid { why, .. } => Error::invalid("previous session", why),
                other => other,
            })?;
            if let (true, Some(serial), true) = (is_primary, e.serial, e.nlink > 1) {
                links.insert(serial, id);
            }
        }
        Ok(())
    }
}
