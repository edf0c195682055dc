//! `-M` and `-N` through the real `cback` binary against a throwaway sshd:
//! managed items run after the local item of the same action, `-N` runs no
//! local action and no hooks, `--full` is passed on, and a failing peer is
//! logged without failing the run.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use cedar::config::{
    ActionHook, Config, HookKind, PeersConfig, PurgeConfig, PurgeDir, ReferenceConfig, RemotePeer,
    Weekday,
};
use support::sshd::Sshd;

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn run(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("-l")
        .arg(root.join("cback.log"))
        .arg("-c")
        .arg(root.join("master.xml"))
        .args(args)
        .output()
        .expect("run cback")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn managed_switches_run_peers_in_plan_order() {
    let Some(sshd) = Sshd::start() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let journal = root.join("journal");
    // The "remote cback" and the local hook write to one journal, so the
    // order of local and managed items is visible.
    let fake = root.join("fake-cback");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"peer $*\" >> {}\n", journal.display()),
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let hook = root.join("hook");
    std::fs::write(
        &hook,
        format!("echo \"local $1\" >> {}\n", journal.display()),
    )
    .expect("write");
    std::fs::create_dir_all(root.join("work")).expect("mkdir");
    std::fs::create_dir_all(root.join("purge")).expect("mkdir");

    let mut options = support::options(&root.join("work"), Weekday::Monday);
    options.rsh_command = Some(sshd.rsh());
    options.cback_command = Some(s(&fake));
    options.managed_actions = Some(vec!["purge".into()]);
    options.hooks = vec![ActionHook {
        kind: HookKind::Post,
        action: Some("purge".into()),
        command: Some(format!("/bin/sh {} purge", hook.display())),
    }];
    let peer = |name: &str| RemotePeer {
        name: Some(name.into()),
        collect_dir: Some("/tmp".into()),
        managed: true,
        ..Default::default()
    };
    let config = Config {
        reference: Some(ReferenceConfig::default()),
        options: Some(options),
        // 127.0.0.2 has no sshd: its failure is logged, the run goes on.
        peers: Some(PeersConfig {
            local_peers: None,
            remote_peers: Some(vec![peer("127.0.0.2"), peer("127.0.0.1")]),
        }),
        purge: Some(PurgeConfig {
            purge_dirs: Some(vec![PurgeDir {
                absolute_path: Some(s(&root.join("purge"))),
                retain_days: Some(7),
            }]),
        }),
        ..Default::default()
    };
    std::fs::write(root.join("master.xml"), support::config_xml(&config)).expect("write config");

    let out = run(root, &["-M", "purge"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&journal), ["local purge", "peer purge"]);

    let out = run(root, &["-N", "--full", "purge"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines(&journal),
        ["local purge", "peer purge", "peer --full purge"]
    );

    // stage is not a managed action: -N runs only the peers' purge.
    let out = run(root, &["-N", "purge", "stage"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&journal).len(), 4);

    let log = std::fs::read_to_string(root.join("cback.log")).expect("log");
    assert!(
        log.contains("127.0.0.2"),
        "the unreachable peer is logged:\n{log}"
    );
}
