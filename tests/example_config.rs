//! The bundled example config (fixtures/example.conf) is a working config:
//! it is valid as shipped, and once its directories exist (scripts/example.sh
//! creates them under /tmp/cedar-example) `validate` passes and the actions
//! end to end, two nights of them storing to the emulated DVD+RW. The test relocates the
//! config's /tmp/cedar-example prefix into a temp dir so runs never collide.

use std::path::Path;
use std::process::{Command, Output};

const CBACK: &str = env!("CARGO_BIN_EXE_cback");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/example.conf");

fn cback(dir: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(CBACK)
        .arg("-l")
        .arg(dir.join("cback.log"))
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .expect("run cback")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn example_config_is_valid_as_shipped() {
    let config =
        cedar::app::load_config(Path::new(EXAMPLE)).expect("example.conf parses and validates");
    let store = config.store.as_ref().expect("store section");
    assert!(matches!(store.device, mmc::DeviceString::Emulated { .. }));
}

#[test]
fn example_job_validates_and_runs_once_its_dirs_exist() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("cedar-example");
    let text = std::fs::read_to_string(EXAMPLE).expect("read example");
    let config = tmp.path().join("example.conf");
    std::fs::write(
        &config,
        text.replace("/tmp/cedar-example", base.to_str().expect("utf8")),
    )
    .expect("write");

    // Without its directories the environment is wrong, not the config: 6.
    let out = cback(tmp.path(), &config, &["validate"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    for d in [
        "work",
        "collect",
        "stage",
        "data/etc",
        "data/home/user/docs",
        "data/home/user/cache",
    ] {
        std::fs::create_dir_all(base.join(d)).expect("mkdir");
    }
    std::fs::write(base.join("data/etc/hosts"), "127.0.0.1 localhost\n").expect("write");
    std::fs::write(base.join("data/etc/editor.swp"), "excluded by pattern").expect("write");
    std::fs::write(base.join("data/home/user/docs/a.txt"), "keep me").expect("write");
    std::fs::write(
        base.join("data/home/user/docs/a.bak"),
        "excluded by pattern",
    )
    .expect("write");
    std::fs::write(
        base.join("data/home/user/cache/junk"),
        "excluded by rel_path",
    )
    .expect("write");
    std::fs::write(base.join("data/notes.txt"), "weekly notes").expect("write");

    let out = cback(tmp.path(), &config, &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = cback(tmp.path(), &config, &["--full", "collect", "stage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let collect = base.join("collect");
    let home = collect.join(format!(
        "{}-data-home.tar.gz",
        base.to_str()
            .expect("utf8")
            .trim_start_matches('/')
            .replace('/', "-")
    ));
    let listing = Command::new("tar")
        .arg("tzf")
        .arg(&home)
        .output()
        .expect("tar");
    let members = String::from_utf8_lossy(&listing.stdout);
    let found: Vec<_> = std::fs::read_dir(&collect)
        .expect("collect dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        listing.status.success(),
        "{} not among {found:?}",
        home.display()
    );
    assert!(members.contains("docs/a.txt"), "{members}");
    assert!(
        !members.contains("a.bak") && !members.contains("cache/junk"),
        "{members}"
    );
    assert!(collect.join("cback.collect").exists());

    // The day dir carries the stage indicator, the peer dir the archives.
    let day = base
        .join("stage")
        .join(chrono::Local::now().format("%Y/%m/%d").to_string());
    assert!(day.join("cback.stage").exists(), "{}", day.display());
    assert!(day
        .join("localhost")
        .join(home.file_name().expect("name"))
        .exists());

    // purge keeps 7 days of staging and nothing of the collect dir.
    let out = cback(tmp.path(), &config, &["purge"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&collect).expect("collect dir").count(), 0);
    assert!(day.join("cback.stage").exists());

    // store puts the day on the emulated DVD+RW and marks it stored.
    let out = cback(tmp.path(), &config, &["store"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(day.join("cback.store").exists());
    let image = base.join("disc.img");
    let listing = Command::new("bsdtar")
        .arg("tf")
        .arg(&image)
        .output()
        .expect("bsdtar");
    if listing.status.success() {
        let members = String::from_utf8_lossy(&listing.stdout);
        let disc_day = chrono::Local::now().format("%Y/%m/%d").to_string();
        assert!(
            members.contains(&format!("{disc_day}/cback.stage")),
            "{members}"
        );
    } else {
        assert!(std::env::var_os("CI").is_none(), "bsdtar is required in CI");
    }

    // The README's second night: `cback all` with tomorrow's date, then
    // `cback drive` shows both days on the disc.
    let tomorrow = chrono::Local::now().date_naive() + chrono::Days::new(1);
    let out = Command::new(CBACK)
        .arg("-l")
        .arg(tmp.path().join("cback.log"))
        .arg("-c")
        .arg(&config)
        .arg("all")
        .env("CEDAR_TODAY", tomorrow.format("%Y-%m-%d").to_string())
        .output()
        .expect("run cback");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let spec = format!("emulated:{}", image.display());
    let out = Command::new(CBACK)
        .args(["drive", &spec])
        .output()
        .expect("run cback drive");
    let shown = String::from_utf8_lossy(&out.stdout);
    let both = format!(
        "Holds:              {} {}",
        chrono::Local::now().format("%Y/%m/%d"),
        tomorrow.format("%Y/%m/%d")
    );
    assert!(shown.contains(&both), "{shown}");
}
