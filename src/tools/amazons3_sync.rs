//! `cback amazons3-sync [switches] sourceDir s3BucketUrl`: Cedar's
//! `cback3-amazons3-sync`, natively. The tree under sourceDir is made the
//! contents of `s3://bucket/prefix` (as `aws s3 sync SRC URL --delete`: a
//! file is sent when the bucket lacks it, holds another size, or an older
//! copy; objects with no file are removed unless `--uploadOnly`), then the
//! bucket is checked to hold every file at its size. `--verifyOnly` only
//! checks. Names that are not UTF-8 cannot be keys: they stop the run
//! unless `--ignoreWarnings`, which leaves them out.
//!
//! Credentials, region and endpoint are found as the aws CLI run by the
//! same account finds them ([`crate::s3::profile`]). Exit status as
//! Cedar's: 2 bad arguments, 3 logging, 5 interrupted, 6 failure.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::Options;
use crate::engine::walk::{Walk, WalkOptions};
use crate::s3;
use crate::tools::startup::Tool;

const USAGE: &str = "
 Usage: cback amazons3-sync [switches] sourceDir s3bucketUrl

 Cedar Backup Amazon S3 sync tool (Cedar's cback3-amazons3-sync).

 This utility synchronizes a local directory to an Amazon S3
 bucket.  After the sync is complete, a validation step is taken.  An
 error is reported if the contents of the bucket do not match the
 source directory, or if the indicated size for any file differs.
 cedar talks to S3 itself: no AWS CLI is needed; credentials are found
 where the AWS CLI finds them (AWS_* variables, ~/.aws/credentials and
 ~/.aws/config, AWS_PROFILE; AWS_ENDPOINT_URL for another endpoint).

 The following arguments are required:

   sourceDir            The local source directory on disk (must exist)
   s3BucketUrl          The URL to the target Amazon S3 bucket

 The following switches are accepted:

   -h, --help           Display this usage/help listing
   -V, --version        Display version information
   -b, --verbose        Print verbose output as well as logging to disk
   -q, --quiet          Run quietly (display no output to the screen)
   -l, --logfile        Path to logfile (default: /var/log/cback3.log)
   -o, --owner          Logfile ownership, user:group (default: root:adm)
   -m, --mode           Octal logfile permissions mode (default: 640)
   -O, --output         Record some sub-command output to the log
   -d, --debug          Write debugging information to the log (implies --output)
   -s, --stack          Show full error detail instead of one line
   -D, --diagnostics    Print runtime diagnostics to the screen and exit
   -v, --verifyOnly     Only verify the S3 bucket contents, do not make changes
   -u, --uploadOnly     Only upload new data, do not remove files in the S3 bucket
   -w, --ignoreWarnings Ignore warnings about problematic filename encodings

 Typical usage would be something like:

   cback amazons3-sync /home/myuser s3://example.com-backup/myuser

 This will sync the contents of /home/myuser into the indicated bucket.
";

/// The tool's own switches, besides the logging ones in [`Options`].
#[derive(Debug, Default)]
struct SyncOptions {
    verify_only: bool,
    upload_only: bool,
    ignore_warnings: bool,
    source: Option<PathBuf>,
    url: Option<String>,
}

/// Parses the command line as Cedar's getopt does (short switches may be
/// bundled, values attached or separate, long names exact).
fn parse(args: &[OsString]) -> Result<(Options, SyncOptions), String> {
    let mut o = Options {
        help: false,
        version: false,
        verbose: false,
        quiet: false,
        config: None,
        full: false,
        managed: false,
        managed_only: false,
        logfile: None,
        owner: None,
        mode: None,
        output: false,
        debug: false,
        stack: false,
        diagnostics: false,
        dry_run: false,
        actions: vec!["amazons3-sync".into()],
    };
    let mut s = SyncOptions::default();
    let mut positional = Vec::new();
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<'_, OsString>, attached: Option<String>, name: &str| {
        attached
            .or_else(|| it.next().map(|v| v.to_string_lossy().into_owned()))
            .ok_or_else(|| format!("option {name} requires argument"))
    };
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" {
            positional.extend(it.by_ref().cloned());
            break;
        }
        let mut flags: Vec<(char, Option<String>)> = Vec::new();
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let c = match name {
                "help" => 'h',
                "version" => 'V',
                "verbose" => 'b',
                "quiet" => 'q',
                "logfile" => 'l',
                "owner" => 'o',
                "mode" => 'm',
                "output" => 'O',
                "debug" => 'd',
                "stack" => 's',
                "diagnostics" => 'D',
                "verifyOnly" => 'v',
                "uploadOnly" => 'u',
                "ignoreWarnings" => 'w',
                _ => return Err(format!("option --{name} not recognized")),
            };
            flags.push((c, attached));
        } else if text.len() > 1 && text.starts_with('-') {
            let chars: Vec<char> = text[1..].chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                if matches!(c, 'l' | 'o' | 'm') {
                    let rest: String = chars[i + 1..].iter().collect();
                    flags.push((c, (!rest.is_empty()).then_some(rest)));
                    break;
                }
                flags.push((c, None));
                i += 1;
            }
        } else {
            positional.push(arg.clone());
            continue;
        }
        for (c, attached) in flags {
            match c {
                'h' => o.help = true,
                'V' => o.version = true,
                'b' => o.verbose = true,
                'q' => o.quiet = true,
                'O' => o.output = true,
                'd' => {
                    o.debug = true;
                    o.output = true
                }
                's' => o.stack = true,
                'D' => o.diagnostics = true,
                'v' => s.verify_only = true,
                'u' => s.upload_only = true,
                'w' => s.ignore_warnings = true,
                'l' => o.logfile = Some(PathBuf::from(value(&mut it, attached, "-l")?)),
                'o' => {
                    let v = value(&mut it, attached, "-o")?;
                    let (u, g) = v
                        .split_once(':')
                        .ok_or("Must specify user and group tuple for owner parameter.")?;
                    o.owner = Some((u.to_string(), g.to_string()));
                }
                'm' => o.mode = Some(crate::cli::parse_mode(&value(&mut it, attached, "-m")?)?),
                other => return Err(format!("option -{other} not recognized")),
            }
        }
    }
    match positional.as_slice() {
        [] => {}
        [source, url] => {
            s.source = Some(PathBuf::from(source));
            s.url = Some(url.to_string_lossy().into_owned());
        }
        _ => return Err("Source directory and S3 bucket URL are both required.".into()),
    }
    if !o.help && !o.version && !o.diagnostics && s.source.is_none() {
        return Err("Source directory and S3 bucket URL are both required.".into());
    }
    Ok((o, s))
}

/// The tool's start-up.
const TOOL: Tool = Tool {
    usage: USAGE,
    run: "Cedar Backup Amazon S3 sync run",
};

/// Runs `cback amazons3-sync ARGS...`; returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    TOOL.main(parse(&args), |_, sync| {
        match (sync.source.as_deref(), sync.url.as_deref()) {
            (Some(source), Some(url)) => Ok(execute(&sync, source, url)?),
            // parse requires both unless only help, version or diagnostics
            // were asked for, which never get here.
            _ => {
                Err(anyhow::anyhow!("Source directory and S3 bucket URL are both required.").into())
            }
        }
    })
}

/// `s3://bucket[/prefix]` → (bucket, prefix without slashes at its ends).
fn parse_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .with_context(|| format!("S3 bucket URL [{url}] does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        anyhow::bail!("S3 bucket URL [{url}] names no bucket");
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// The local files: relative key part → (path, size, mtime).
type Local = Vec<(String, PathBuf, u64, i64)>;

fn source_files(source: &Path, ignore_warnings: bool) -> anyhow::Result<Local> {
    if !source.is_dir() {
        anyhow::bail!("Source directory does not exist on disk.");
    }
    let mut walk = Walk::new(WalkOptions {
        backup: true,
        ..WalkOptions::default()
    });
    walk.add_dir_contents(source.as_os_str(), true, false, 0, false)
        .with_context(|| format!("listing {}", source.display()))?;
    let mut files = Vec::new();
    let mut bad = 0;
    for path in walk.into_items().into_iter().map(PathBuf::from) {
        let rel = path.strip_prefix(source).unwrap_or(&path);
        let Some(rel) = rel.to_str() else {
            log::error!("Inconsistent encoding for [{}]: not UTF-8", path.display());
            bad += 1;
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        let meta =
            std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push((rel.to_string(), path.clone(), meta.len(), meta.mtime()));
    }
    if bad > 0 && !ignore_warnings {
        log::error!(
            "Some filenames have inconsistent encodings and will likely cause sync problems."
        );
        log::error!("You may be able to fix this by renaming the problem files to valid UTF-8.");
        log::error!("To ignore this warning and proceed anyway, use --ignoreWarnings");
        anyhow::bail!(
            "Some filenames have inconsistent encodings and will likely cause sync problems."
        );
    }
    if bad == 0 {
        log::info!("Completed checking source filename encoding (no problems found).");
    }
    Ok(files)
}

fn key_of(prefix: &str, rel: &str) -> String {
    if prefix.is_empty() {
        rel.to_string()
    } else {
        format!("{prefix}/{rel}")
    }
}

fn list_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    }
}

fn execute(sync: &SyncOptions, source: &Path, url: &str) -> anyhow::Result<()> {
    let (bucket, prefix) = parse_url(url)?;
    let files = source_files(source, sync.ignore_warnings)?;
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
        .unwrap_or_else(|| PathBuf::from("/"));
    let client = s3::Client::new(s3::profile::resolve(&s3::profile::process_env(), &home)?);
    if !sync.verify_only {
        synchronize(&client, &bucket, &prefix, &files, sync.upload_only)?;
    }
    verify(&client, &bucket, &prefix, &files)
}

fn synchronize(
    client: &s3::Client,
    bucket: &str,
    prefix: &str,
    files: &Local,
    upload_only: bool,
) -> anyhow::Result<()> {
    log::info!("Synchronizing local source directory up to Amazon S3.");
    let remote: HashMap<String, s3::Object> = client
        .list(bucket, &list_prefix(prefix))?
        .into_iter()
        .map(|o| (o.key.clone(), o))
        .collect();
    let mut wanted = HashSet::new();
    let (mut sent, mut kept) = (0, 0);
    for (rel, path, size, mtime) in files {
        let key = key_of(prefix, rel);
        let fresh = remote
            .get(&key)
            .is_some_and(|o| o.size == *size && o.modified >= *mtime);
        if fresh {
            kept += 1;
        } else {
            log::debug!("upload: {} to s3://{bucket}/{key}", path.display());
            client
                .put_file(bucket, &key, path)
                .with_context(|| format!("uploading {}", path.display()))?;
            sent += 1;
        }
        wanted.insert(key);
    }
    let mut removed = 0;
    if upload_only {
        log::info!("Sync process will only upload new data, never removing files in S3");
    } else {
        log::info!("This will be a full sync process, removing any S3 files that do not exist in the source");
        for key in remote.keys().filter(|k| !wanted.contains(*k)) {
            log::debug!("delete: s3://{bucket}/{key}");
            client.delete(bucket, key)?;
            removed += 1;
        }
    }
    log::info!("Uploaded {sent} files, {kept} already current, removed {removed} objects.");
    Ok(())
}

fn verify(client: &s3::Client, bucket: &str, prefix: &str, files: &Local) -> anyhow::Result<()> {
    let contents: HashMap<String, u64> = client
        .list(bucket, &list_prefix(prefix))?
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect();
    let mut failed = false;
    for (rel, path, size, _) in files {
        match contents.get(&key_of(prefix, rel)) {
            None => {
                log::error!("File was apparently not uploaded: [{}]", path.display());
                failed = true;
            }
            Some(got) if got != size => {
                log::error!(
                    "File size differs [{}]: expected {size} bytes but got {got} bytes",
                    path.display()
                );
                failed = true;
            }
            Some(_) => {}
        }
    }
    if failed {
        log::error!("There were differences between source directory and target S3 bucket.");
        anyhow::bail!("There were differences between source directory and target S3 bucket.");
    }
    log::info!("Completed verifying Amazon S3 bucket contents (no problems found).");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_cedars_switches() {
        let (o, s) = parse(&args(&[
            "-bvw",
            "-l/tmp/x.log",
            "--owner",
            "a:b",
            "/src",
            "s3://b/p",
        ]))
        .unwrap();
        assert!(o.verbose && s.verify_only && s.ignore_warnings && !s.upload_only);
        assert_eq!(o.logfile.as_deref(), Some(Path::new("/tmp/x.log")));
        assert_eq!(o.owner, Some(("a".into(), "b".into())));
        assert_eq!(
            (s.source.unwrap(), s.url.unwrap()),
            (PathBuf::from("/src"), "s3://b/p".into())
        );
        let (_, s) = parse(&args(&["--uploadOnly", "-d", "a", "s3://b"])).unwrap();
        assert!(s.upload_only);
        assert!(parse(&args(&["/src"]))
            .unwrap_err()
            .contains("both required"));
        assert!(parse(&args(&["-x", "a", "b"])).is_err());
        assert!(parse(&args(&["-h"])).unwrap().0.help);
    }

    #[test]
    fn bucket_urls() {
        assert_eq!(
            parse_url("s3://b/my/user/").unwrap(),
            ("b".into(), "my/user".into())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_url("b/x").is_err());
        assert_eq!(key_of("", "a/b"), "a/b");
        assert_eq!(key_of("p", "a"), "p/a");
    }
}
