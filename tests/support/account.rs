//! The account the tests run as, shared by `support` and `ext_support`.

/// The names of the current user and group.
pub fn current_account() -> (String, String) {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap();
    let group = nix::unistd::Group::from_gid(nix::unistd::getegid())
        .unwrap()
        .unwrap();
    (user.name, group.name)
}
