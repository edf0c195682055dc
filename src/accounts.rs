//! Who we run as and who the config names: lookups shared by logging (log
//! file owner), `validate` (backup user/group exist) and the actions
//! (ownership of outputs, `su` to the backup user).

use anyhow::Context;

/// Running as root (ownership changes and `su` only happen then).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Numeric ids of a user and group by name.
pub fn uid_gid(user: &str, group: &str) -> anyhow::Result<(u32, u32)> {
    let u = nix::unistd::User::from_name(user)
        .with_context(|| format!("looking up user {user}"))?
        .with_context(|| format!("user {user} does not exist"))?;
    let g = nix::unistd::Group::from_name(group)
        .with_context(|| format!("looking up group {group}"))?
        .with_context(|| format!("group {group} does not exist"))?;
    Ok((u.uid.as_raw(), g.gid.as_raw()))
}
