//! The amazons3 extension against a real S3-compatible server the tests
//! start on 127.0.0.1: moto's server mode (from PyPI, in the venv .ci/run
//! installs, `$CEDAR_MOTO` or /tmp/cedar-moto-5.2.5) with authentication
//! on, so moto checks every SigV4 signature and refuses a wrong secret.
//! Credentials come from an IAM user the test creates. What cedar
//! uploaded is listed and downloaded back by boto3, byte for byte.

mod ext_support;
mod support;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ext_support::*;
use support::restore::noise;
use support::{runs_as, Account};

/// A moto server on a free loopback port, with one IAM user allowed
/// everything and one bucket; killed on drop.
struct Moto {
    child: Child,
    python: PathBuf,
    url: String,
    key: String,
    secret: String,
    _dir: tempfile::TempDir,
}

const BUCKET: &str = "cedar-test";

const SETUP: &str = r#"
import boto3, json, sys
url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1",
          aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="backup")
key = iam.create_access_key(UserName="backup")["AccessKey"]
iam.put_user_policy(UserName="backup", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"],
                  aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket=sys.argv[2])
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

/// Lists PREFIX and downloads every object into OUT/KEY; prints sizes.
const FETCH: &str = r#"
import boto3, json, os, sys
url, key, secret, bucket, prefix, out = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
sizes = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
    for o in page.get("Contents", []):
        sizes[o["Key"]] = o["Size"]
        path = os.path.join(out, o["Key"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        s3.download_file(bucket, o["Key"], path)
print(json.dumps(sizes))
"#;

/// Puts one object (KEY BODY) with boto3.
const PUT: &str = r#"
import boto3, sys
url, key, secret, bucket, name, body = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
s3.put_object(Bucket=bucket, Key=name, Body=body.encode())
"#;

impl Moto {
    fn start() -> Option<Moto> {
        let venv = std::env::var_os("CEDAR_MOTO")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp/cedar-moto-5.2.5"));
        let server = venv.join("bin/moto_server");
        if !server.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto not installed at {} (see .ci/run); required under CI",
                venv.display()
            );
            eprintln!("skipping: moto not installed at {}", venv.display());
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // The IAM user, its key and policy and the bucket are made
            // unauthenticated; everything after is checked.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "4")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let python = venv.join("bin/python");
        let url = format!("http://127.0.0.1:{port}");
        let mut moto = Moto {
            child,
            python,
            url,
            key: String::new(),
            secret: String::new(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start listening");
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = moto.python(SETUP, &[&moto.url.clone(), BUCKET]);
        let mut words = out.split_whitespace();
        moto.key = words.next().unwrap().to_string();
        moto.secret = words.next().unwrap().to_string();
        Some(moto)
    }

    fn python(&self, script: &str, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The environment cedar gets: the keys, the endpoint (as the aws CLI
    /// reads it) and a region.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ]
    }

    /// Every object under `prefix`, downloaded by boto3: key → bytes.
    fn objects(&self, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().to_str().unwrap();
        let sizes: BTreeMap<String, u64> = serde_json::from_str(&self.python(
            FETCH,
            &[&self.url, &self.key, &self.secret, BUCKET, prefix, dir],
        ))
        .unwrap();
        sizes
            .into_iter()
            .map(|(k, size)| {
                let data = std::fs::read(out.path().join(&k)).unwrap();
                assert_eq!(data.len() as u64, size, "{k}");
                (k, data)
            })
            .collect()
    }

    fn put(&self, key: &str, body: &str) {
        self.python(
            PUT,
            &[&self.url, &self.key, &self.secret, BUCKET, key, body],
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Today's staged day for cedar: `stage/YYYY/MM/DD` with `cback.stage`,
/// a peer's files and indicators. Returns (staging dir, day dir, date).
fn stage_today(b: &Bench, files: &[(&str, Vec<u8>)]) -> (PathBuf, PathBuf, String) {
    let staging = b.root().join("cedar/stage");
    let date = chrono::Local::now().format("%Y/%m/%d").to_string();
    let day = staging.join(&date);
    std::fs::create_dir_all(day.join("host/sub")).unwrap();
    std::fs::write(day.join("cback.stage"), b"").unwrap();
    std::fs::write(day.join("host/cback.collect"), b"").unwrap();
    for (name, data) in files {
        std::fs::write(day.join(name), data).unwrap();
    }
    (staging, day, date)
}

fn staged_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("host/etc.tar.gz", noise(300_000, 1)),
        ("host/sub/home.tar", noise(4096, 2)),
        ("host/empty", Vec::new()),
        ("top file", b"spaces in a key\n".to_vec()),
    ]
}

fn config(b: &Bench, staging: &Path, section: &str, starting_day: &str) -> PathBuf {
    let (user, group, _) = backup_owner();
    let stage = format!(
        "<stage><staging_dir>{}</staging_dir><peer><name>host</name><type>local</type>\
         <collect_dir>{}</collect_dir></peer></stage>{section}",
        staging.display(),
        b.collect(Who::Cedar).display()
    );
    b.config(
        Who::Cedar,
        "amazons3",
        &stage,
        starting_day,
        (&user, &group),
        &[],
    )
}

fn run_cedar(conf: &Path, env: &[(&str, String)]) -> (std::process::Output, String) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(
        Who::Cedar,
        Path::new("/nonexistent"),
        conf,
        &["amazons3"],
        &env,
    )
}

/// As root (Cedar's rule for this extension), a moto server and a bench.
fn as_root_with_moto() -> Option<(Moto, Bench)> {
    if !runs_as(Account::Root) {
        return None;
    }
    Some((Moto::start()?, Bench::new()))
}

fn section(extra: &str) -> String {
    format!("<amazons3><s3_bucket>{BUCKET}</s3_bucket>{extra}</amazons3>")
}

#[test]
fn the_day_goes_up_with_cedars_layout_and_comes_back_byte_identical() {
    let Some((moto, b)) = as_root_with_moto() else {
        return;
    };
    let files = staged_files();
    let (staging, day, date) = stage_today(&b, &files);
    // A partial upload of an earlier try goes; another day's objects stay.
    moto.put(&format!("{date}/host/stale"), "old");
    moto.put("1999/01/01/host/kept", "kept");
    let conf = config(
        &b,
        &staging,
        &section("<warn_midnite>Y</warn_midnite>"),
        not_today(),
    );
    let (out, log) = run_cedar(&conf, &moto.env());
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&log, 20)
    );
    assert!(
        log.contains(&format!(
            "Amazon S3 process will use current day's staging directory [{}]",
            day.display()
        )),
        "{}",
        tail(&log, 20)
    );
    let objects = moto.objects(&format!("{date}/"));
    let expected: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(name, data)| (format!("{date}/{name}"), data.clone()))
        .collect();
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the day's objects, indicators left out"
    );
    for (k, data) in &expected {
        assert!(&objects[k] == data, "{k} differs");
    }
    assert_eq!(moto.objects("1999/").len(), 1);
    assert!(day.join("cback.store").is_file(), "the day is marked");

    // The day is stored now: a second run finds nothing to do.
    let (out, log) = run_cedar(&conf, &moto.env());
    assert!(!out.status.success());
    assert!(
        log.contains("Unable to find unused staging directory to process (tried today, yesterday, tomorrow)."),
        "{}",
        tail(&log, 10)
    );
}

#[test]
fn credentials_and_endpoint_from_a_profile_as_the_aws_cli_reads_them() {
    let Some((moto, b)) = as_root_with_moto() else {
        return;
    };
    let (staging, day, date) = stage_today(&b, &staged_files());
    let aws = b.path("aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n\
             [backup]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            moto.key, moto.secret
        ),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile backup]\nregion = us-east-1\nendpoint_url = {}\n",
            moto.url
        ),
    )
    .unwrap();
    let env = vec![
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            aws.join("credentials").display().to_string(),
        ),
        ("AWS_CONFIG_FILE", aws.join("config").display().to_string()),
        ("AWS_PROFILE", "backup".to_string()),
    ];
    let conf = config(&b, &staging, &section(""), not_today());
    let (out, log) = run_cedar(&conf, &env);
    assert!(out.status.success(), "{}", tail(&log, 20));
    assert_eq!(moto.objects(&format!("{date}/")).len(), 4);
    assert!(day.join("cback.store").is_file());
}

#[test]
fn an_encrypt_command_runs_as_the_backup_user_before_the_upload() {
    let Some((moto, b)) = as_root_with_moto() else {
        return;
    };
    let files = staged_files();
    let (staging, day, date) = stage_today(&b, &files);
    // The "encryption" is reversible and records who ran it.
    let command =
        "gzip -c \"${input}\" &gt; \"${output}\" &amp;&amp; id -un &gt;&gt; \"${output}.who\"";
    let conf = config(
        &b,
        &staging,
        &section(&format!("<encrypt>{command}</encrypt>")),
        not_today(),
    );
    let (out, log) = run_cedar(&conf, &moto.env());
    assert!(out.status.success(), "{}", tail(&log, 20));
    let objects = moto.objects(&format!("{date}/"));
    let (user, _, _) = backup_owner();
    for (name, data) in &files {
        let key = format!("{date}/{name}");
        if data.is_empty() {
            assert!(
                objects[&key].is_empty(),
                "{key}: empty files are not encrypted"
            );
            continue;
        }
        let mut gunzip = Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        gunzip
            .stdin
            .take()
            .unwrap()
            .write_all(&objects[&key])
            .unwrap();
        let plain = gunzip.wait_with_output().unwrap().stdout;
        assert!(&plain == data, "{key} does not decrypt to the staged bytes");
        let who = String::from_utf8(objects[&format!("{key}.who")].clone()).unwrap();
        assert_eq!(who.trim(), user, "{key} encrypted by");
    }
    assert!(day.join("cback.store").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(b.work(Who::Cedar))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("cedar-amazons3"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "scratch directory left: {leftovers:?}"
    );
}

/// Runs with `env` and expects failure mentioning `expect`, nothing marked.
fn fails_unmarked(
    moto: Option<&Moto>,
    env: Vec<(&'static str, String)>,
    extra: &str,
    expect: &str,
) {
    let b = Bench::new();
    let (staging, day, date) = stage_today(&b, &staged_files());
    let conf = config(&b, &staging, &section(extra), not_today());
    let started = Instant::now();
    let (out, log) = run_cedar(&conf, &env);
    assert!(!out.status.success(), "succeeded: {}", tail(&log, 10));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        log.contains(expect),
        "wanted [{expect}] in:\n{}",
        tail(&log, 10)
    );
    assert!(!day.join("cback.store").exists(), "marked uploaded");
    if let Some(moto) = moto {
        assert!(
            moto.objects(&format!("{date}/")).is_empty(),
            "objects uploaded"
        );
    }
}

#[test]
fn bad_credentials_fail_clearly_and_nothing_is_marked() {
    if !runs_as(Account::Root) {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    let mut env = moto.env();
    env[1].1 = "not-the-secret".into();
    fails_unmarked(Some(&moto), env, "", "SignatureDoesNotMatch");
    let mut env = moto.env();
    env[0].1 = "AKIANOSUCHKEY0000000".into();
    fails_unmarked(Some(&moto), env, "", "HTTP 403");
}

#[test]
fn an_unreachable_endpoint_fails_clearly_and_nothing_is_marked() {
    if !runs_as(Account::Root) {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_string()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
    ];
    fails_unmarked(
        None,
        env,
        "",
        &format!("cannot reach S3 at http://127.0.0.1:{port}/"),
    );
}

#[test]
fn size_limits_for_full_and_incremental_days() {
    if !runs_as(Account::Root) {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    // Not the starting day: the incremental limit applies.
    fails_unmarked(
        Some(&moto),
        moto.env(),
        "<full_size_limit>10 MB</full_size_limit><incr_size_limit>0.25 MB</incr_size_limit>",
        "Amazon S3 size limit exceeded: 296.98 kB > 256.00 kB",
    );
    // The starting day: the full limit applies and the day fits.
    let b = Bench::new();
    let (staging, day, _) = stage_today(&b, &staged_files());
    let conf = config(
        &b,
        &staging,
        &section(
            "<full_size_limit>10 MB</full_size_limit><incr_size_limit>0.25 MB</incr_size_limit>",
        ),
        today(),
    );
    let (out, log) = run_cedar(&conf, &moto.env());
    assert!(out.status.success(), "{}", tail(&log, 20));
    assert!(day.join("cback.store").is_file());
}

#[test]
fn only_root_may_run_it_as_in_cedar() {
    if !runs_as(Account::User) {
        return;
    }
    let b = Bench::new();
    let (staging, day, _) = stage_today(&b, &staged_files());
    let conf = config(&b, &staging, &section(""), not_today());
    let (out, log) = run_cedar(&conf, &[]);
    assert!(!out.status.success());
    assert!(
        log.contains("The amazons3 extended action must be run as root."),
        "{}",
        tail(&log, 5)
    );
    assert!(!day.join("cback.store").exists());
}

#[test]
fn large_files_go_up_in_parts_and_come_back_whole() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let data = noise(11 * 1024 * 1024 + 5, 3);
    std::fs::write(&path, &data).unwrap();
    let mut client = cedar::s3::Client::new(cedar::s3::profile::Settings {
        credentials: cedar::s3::Credentials {
            access_key_id: moto.key.clone(),
            secret_access_key: moto.secret.clone(),
            session_token: None,
        },
        region: "us-east-1".into(),
        endpoint: Some(moto.url.clone()),
    });
    client.part_size = 5 * 1024 * 1024;
    assert_eq!(
        client.put_file(BUCKET, "parts/big", &path).unwrap(),
        data.len() as u64
    );
    let objects = moto.objects("parts/");
    assert!(objects["parts/big"] == data, "multipart object differs");
    let listed = client.list(BUCKET, "parts/").unwrap();
    assert_eq!(
        (listed[0].key.as_str(), listed[0].size),
        ("parts/big", data.len() as u64)
    );
    let mut back = Vec::new();
    client.get(BUCKET, "parts/big", &mut back).unwrap();
    assert!(back == data);
    client.delete(BUCKET, "parts/big").unwrap();
    assert!(client.list(BUCKET, "parts/").unwrap().is_empty());
}

/// Runs `cback amazons3-sync ARGS` with moto's environment.
fn sync(moto: &Moto, log: &Path, args: &[&str]) -> (std::process::Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("amazons3-sync")
        .arg("-l")
        .arg(log)
        .arg("-d")
        .args(args)
        .envs(moto.env())
        .output()
        .unwrap();
    (out, std::fs::read_to_string(log).unwrap_or_default())
}

#[test]
fn amazons3_sync_mirrors_a_tree_and_verifies_it() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("home");
    std::fs::create_dir_all(src.join("docs/deep")).unwrap();
    let files = [
        ("a.txt", noise(1000, 4)),
        ("docs/b b.pdf", noise(70_000, 5)),
        ("docs/deep/c", Vec::new()),
        ("cback.store", b"indicators are plain files here".to_vec()),
    ];
    for (name, data) in &files {
        std::fs::write(src.join(name), data).unwrap();
    }
    moto.put("mirror/stale", "gone after a full sync");
    moto.put("mirrored-elsewhere", "outside the prefix");
    let log = dir.path().join("sync.log");
    let src_arg = src.to_str().unwrap();
    let (out, text) = sync(&moto, &log, &[src_arg, &format!("s3://{BUCKET}/mirror")]);
    assert!(out.status.success(), "{}", tail(&text, 20));
    let objects = moto.objects("mirror/");
    assert_eq!(objects.len(), files.len(), "{:?}", objects.keys());
    for (name, data) in &files {
        assert!(
            &objects[&format!("mirror/{name}")] == data,
            "{name} differs"
        );
    }
    assert_eq!(moto.objects("mirrored-elsewhere").len(), 1);
    assert!(text.contains("Completed verifying Amazon S3 bucket contents (no problems found)."));

    // A changed file goes up again; --uploadOnly keeps what the source lost.
    std::fs::write(src.join("a.txt"), b"changed").unwrap();
    std::fs::remove_file(src.join("docs/deep/c")).unwrap();
    let (out, text) = sync(
        &moto,
        &log,
        &["-u", src_arg, &format!("s3://{BUCKET}/mirror/")],
    );
    assert!(out.status.success(), "{}", tail(&text, 20));
    let objects = moto.objects("mirror/");
    assert_eq!(objects["mirror/a.txt"], b"changed");
    assert!(objects.contains_key("mirror/docs/deep/c"));
    assert!(
        text.contains("Uploaded 1 files, 2 already current, removed 0 objects."),
        "{}",
        tail(&text, 10)
    );

    // --verifyOnly changes nothing and fails on a difference.
    std::fs::write(src.join("new"), b"not uploaded").unwrap();
    let (out, text) = sync(
        &moto,
        &log,
        &["--verifyOnly", src_arg, &format!("s3://{BUCKET}/mirror")],
    );
    assert_eq!(out.status.code(), Some(6));
    assert!(text.contains(&format!(
        "File was apparently not uploaded: [{}/new]",
        src.display()
    )));
    assert!(text.contains("There were differences between source directory and target S3 bucket."));
    assert!(!moto.objects("mirror/").contains_key("mirror/new"));

    // A full sync removes what the source no longer has.
    let (out, text) = sync(&moto, &log, &[src_arg, &format!("s3://{BUCKET}/mirror")]);
    assert!(out.status.success(), "{}", tail(&text, 20));
    let keys: Vec<String> = moto.objects("mirror/").into_keys().collect();
    assert_eq!(
        keys,
        [
            "mirror/a.txt",
            "mirror/cback.store",
            "mirror/docs/b b.pdf",
            "mirror/new"
        ]
    );
}

#[test]
fn amazons3_sync_arguments_and_a_missing_source() {
    let out = Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(["amazons3-sync", "/only-one"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Source directory and S3 bucket URL are both required."));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("l");
    let out = Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("amazons3-sync")
        .arg("-l")
        .arg(&log)
        .args(["/nonexistent/cedar", "s3://b/p"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Source directory does not exist on disk."),
        "{text}"
    );
}
