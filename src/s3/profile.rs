//! Where the aws CLI finds credentials, region and endpoint, read the same
//! way so a migrating user changes nothing: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_PROFILE`/`AWS_DEFAULT_PROFILE`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`), then the profile's section of
//! `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) and of
//! `~/.aws/config` (`AWS_CONFIG_FILE`; `[profile NAME]`, or `[default]`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Credentials, Error};

/// The variables the lookup reads (a map so tests need not touch the
/// process environment).
pub type Env = HashMap<String, String>;

/// The process environment's `AWS_*` variables.
pub fn process_env() -> Env {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect()
}

/// What a client needs to talk to S3.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The keys.
    pub credentials: Credentials,
    /// The region requests are signed for.
    pub region: String,
    /// An endpoint other than AWS's (`http://127.0.0.1:9000`), if set.
    pub endpoint: Option<String>,
}

/// One INI-like file: section name → key → value.
type Sections = HashMap<String, HashMap<String, String>>;

/// Parses the aws CLI's file format: `[section]`, `key = value`, `#`/`;`
/// comments; indented lines under a key without a value (nested service
/// settings such as `s3 =`) are skipped.
fn parse_ini(text: &str) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    let mut nested = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if nested && line.starts_with([' ', '\t']) {
            continue;
        }
        nested = false;
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let name = name.trim().to_string();
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((k, v))) = (&current, trimmed.split_once('=')) {
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if v.is_empty() {
                nested = true;
                continue;
            }
            sections.entry(section.clone()).or_default().insert(k, v);
        }
    }
    sections
}

fn read_ini(path: &Path) -> Result<Sections, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_ini(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Sections::new()),
        Err(e) => Err(Error::Profile(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Resolves credentials, region and endpoint for an account whose home
/// directory is `home`, as the aws CLI run by that account would.
pub fn resolve(env: &Env, home: &Path) -> Result<Settings, Error> {
    let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    let profile = var("AWS_PROFILE")
        .or_else(|| var("AWS_DEFAULT_PROFILE"))
        .unwrap_or_else(|| "default".to_string());
    let file = |var_name: &str, default: &str| -> PathBuf {
        var(var_name).map_or_else(|| home.join(".aws").join(default), PathBuf::from)
    };
    let credentials_path = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_path = file("AWS_CONFIG_FILE", "config");
    let credentials_file = read_ini(&credentials_path)?;
    let config_file = read_ini(&config_path)?;
    let config_section = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    let empty = HashMap::new();
    let from_credentials = credentials_file.get(&profile).unwrap_or(&empty);
    let from_config = config_file.get(&config_section).unwrap_or(&empty);
    let setting = |k: &str| {
        from_credentials
            .get(k)
            .or_else(|| from_config.get(k))
            .cloned()
    };
    let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Credentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: var("AWS_SESSION_TOKEN"),
        },
        _ => match (
            setting("aws_access_key_id"),
            setting("aws_secret_access_key"),
        ) {
            (Some(id), Some(secret)) => Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: setting("aws_session_token"),
            },
            _ => {
                return Err(Error::Profile(format!(
                    "no AWS credentials: neither AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY \
                     nor profile [{profile}] in {} or {}",
                    credentials_path.display(),
                    config_path.display()
                )))
            }
        },
    };
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| from_config.get("region").cloned())
        .unwrap_or_else(|| "us-east-1".to_string());
    let endpoint = var("AWS_ENDPOINT_URL_S3")
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .or_else(|| from_config.get("endpoint_url").cloned())
        .map(|e| e.trim_end_matches('/').to_string());
    Ok(Settings {
        credentials,
        region,
        endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_first_then_profile_files() {
        let home = tempfile::tempdir().unwrap();
        let aws = home.path().join(".aws");
        std::fs::create_dir(&aws).unwrap();
        std::fs::write(
            aws.join("credentials"),
            "# keys\n[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\
             [backup]\naws_access_key_id=BK\naws_secret_access_key=bksecret\naws_session_token=tok\n",
        )
        .unwrap();
        std::fs::write(
            aws.join("config"),
            "[default]\nregion = eu-west-1\ns3 =\n  endpoint_url = http://nested\n\
             [profile backup]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:9/\n",
        )
        .unwrap();
        let s = resolve(&env(&[]), home.path()).unwrap();
        assert_eq!(
            (
                s.credentials.access_key_id.as_str(),
                s.region.as_str(),
                s.endpoint
            ),
            ("DEF", "eu-west-1", None)
        );
        let s = resolve(&env(&[("AWS_PROFILE", "backup")]), home.path()).unwrap();
        assert_eq!(s.credentials.access_key_id, "BK");
        assert_eq!(s.credentials.session_token.as_deref(), Some("tok"));
        assert_eq!(s.region, "ap-south-1");
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        let s = resolve(
            &env(&[
                ("AWS_PROFILE", "backup"),
                ("AWS_ACCESS_KEY_ID", "ENV"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
                ("AWS_ENDPOINT_URL", "http://localhost:1"),
            ]),
            home.path(),
        )
        .unwrap();
        assert_eq!(s.credentials.access_key_id, "ENV");
        assert_eq!(s.credentials.session_token, None);
        assert_eq!(
            (s.region.as_str(), s.endpoint.as_deref()),
            ("us-west-2", Some("http://localhost:1"))
        );
        let err = resolve(&env(&[("AWS_PROFILE", "nobody")]), home.path()).unwrap_err();
        assert!(err.to_string().contains("profile [nobody]"), "{err}");
        let bare = tempfile::tempdir().unwrap();
        assert!(resolve(&env(&[]), bare.path()).is_err());
    }
}
