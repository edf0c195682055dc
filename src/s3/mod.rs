//! A small native S3 client for the amazons3 extension and `cback
//! amazons3-sync`, where Cedar ran the aws CLI: objects put (streamed from
//! files; large ones in multipart uploads), listed, fetched and deleted
//! over HTTP(S), every request signed with SigV4 ([`sigv4`]), with the
//! credentials, region and endpoint found where the aws CLI finds them
//! ([`profile`]).
//!
//! Every payload's SHA-256 is computed before it is sent and signed, so S3
//! rejects a body that arrives different from the file. Memory stays
//! constant: files are read twice (hash, then send), never held.
//!
//! Against AWS itself requests use virtual-hosted addresses
//! (`https://BUCKET.s3.REGION.amazonaws.com/KEY`); with an endpoint
//! (`AWS_ENDPOINT_URL`, as the aws CLI honours it) path-style
//! (`ENDPOINT/BUCKET/KEY`), which S3-compatible servers expect.

pub mod profile;
pub mod sigv4;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Access keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `aws_access_key_id`
    pub access_key_id: String,
    /// `aws_secret_access_key`
    pub secret_access_key: String,
    /// `aws_session_token`, for temporary credentials
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, secret hidden)", self.access_key_id)
    }
}

/// What can go wrong talking to S3.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials, or a profile file that cannot be read.
    #[error("{0}")]
    Profile(String),
    /// The endpoint did not answer (refused, DNS, TLS, timeout).
    #[error("cannot reach S3 at {url}: {message}")]
    Unreachable {
        /// The request's address.
        url: String,
        /// What the transport said.
        message: String,
    },
    /// S3 answered with an error (bad credentials, no such bucket, ...).
    #[error("S3 {operation} of [{target}] failed: HTTP {status} {code}: {message}")]
    Service {
        /// `PUT`, `LIST`, ...
        operation: &'static str,
        /// `bucket/key`.
        target: String,
        /// The HTTP status.
        status: u16,
        /// S3's error code, e.g. `InvalidAccessKeyId`, `SignatureDoesNotMatch`.
        code: String,
        /// S3's message.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An answer that is not what S3 sends.
    #[error("S3 {operation}: unexpected answer: {message}")]
    Response {
        /// The operation.
        operation: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// Whether S3 refused the credentials or the signature.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Error::Service {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// `LastModified`, seconds since the epoch.
    pub modified: i64,
}

/// Files larger than this go up in parts of this size (S3 takes at most
/// 5 GiB in one PUT and parts of at least 5 MiB).
pub const DEFAULT_PART_SIZE: u64 = 64 * 1024 * 1024;

/// A client for one account and endpoint.
pub struct Client {
    agent: ureq::Agent,
    settings: profile::Settings,
    /// The multipart threshold and part size.
    pub part_size: u64,
}

/// A request body: nothing, bytes, or a byte range of a file.
enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    File(&'a mut File, u64),
}

type Response = ureq::http::Response<ureq::Body>;

/// SHA-256 of the next `len` bytes of `file` (then rewound to `start`).
fn hash_range(file: &mut File, start: u64, len: u64) -> io::Result<String> {
    file.seek(SeekFrom::Start(start))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being uploaded",
            ));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    file.seek(SeekFrom::Start(start))?;
    Ok(hex::encode(hasher.finalize()))
}

/// The text of the first `<tag>` in `xml`, unescaped.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    quick_xml::escape::unescape(&xml[start..end])
        .ok()
        .map(|s| s.into_owned())
}

impl Client {
    /// A client with these settings.
    pub fn new(settings: profile::Settings) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .build()
            .into();
        Client {
            agent,
            settings,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.settings.region
    }

    /// (URL without query, Host header, canonical path) for `bucket/key`.
    fn address(&self, bucket: &str, key: &str) -> (String, String, String) {
        let key_path = sigv4::uri_encode(key, true);
        match &self.settings.endpoint {
            Some(endpoint) => {
                let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", endpoint));
                let authority = rest.split('/').next().unwrap_or(rest);
                let host = match scheme {
                    "http" => authority.strip_suffix(":80").unwrap_or(authority),
                    _ => authority.strip_suffix(":443").unwrap_or(authority),
                };
                let path = format!("/{}/{key_path}", sigv4::uri_encode(bucket, false));
                (
                    format!("{scheme}://{authority}{path}"),
                    host.to_string(),
                    path,
                )
            }
            None => {
                let region = &self.settings.region;
                if bucket.contains('.') {
                    let host = format!("s3.{region}.amazonaws.com");
                    let path = format!("/{bucket}/{key_path}");
                    (format!("https://{host}{path}"), host, path)
                } else {
                    let host = format!("{bucket}.s3.{region}.amazonaws.com");
                    let path = format!("/{key_path}");
                    (format!("https://{host}{path}"), host, path)
                }
            }
        }
    }

    /// Sends one signed request; an S3 error answer becomes [`Error::Service`].
    fn send(
        &self,
        operation: &'static str,
        method: &str,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Response, Error> {
        let (url, host, path) = self.address(bucket, key);
        let mut body = body;
        let payload = match &mut body {
            Body::Empty => sigv4::EMPTY_SHA256.to_string(),
            Body::Bytes(b) => sigv4::sha256_hex(b),
            Body::File(file, len) => {
                let start = file.stream_position().map_err(|e| self.io_err(key, e))?;
                hash_range(file, start, *len).map_err(|e| self.io_err(key, e))?
            }
        };
        let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers = vec![
            ("host", host.as_str()),
            ("x-amz-content-sha256", payload.as_str()),
            ("x-amz-date", date.as_str()),
        ];
        if let Some(token) = &self.settings.credentials.session_token {
            headers.push(("x-amz-security-token", token.as_str()));
        }
        let auth = sigv4::authorization(
            &sigv4::Request {
                method,
                path: &path,
                query,
                headers: &headers,
                payload_sha256: &payload,
            },
            &self.settings.credentials,
            &self.settings.region,
            &date,
        );
        let query_string = sigv4::canonical_query(query);
        let full_url = if query_string.is_empty() {
            url.clone()
        } else {
            format!("{url}?{query_string}")
        };
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&full_url)
            .header("authorization", &auth);
        for (k, v) in &headers[1..] {
            request = request.header(*k, *v);
        }
        let sent = match body {
            Body::Empty => {
                let request = request.header("content-length", "0");
                request.body(()).map(|r| self.agent.run(r))
            }
            Body::Bytes(b) => request
                .header("content-length", b.len().to_string())
                .body(b.to_vec())
                .map(|r| self.agent.run(r)),
            Body::File(file, len) => {
                let mut limited = file.take(len);
                request
                    .header("content-length", len.to_string())
                    .body(ureq::SendBody::from_reader(&mut limited))
                    .map(|r| self.agent.run(r))
            }
        };
        let mut response = sent
            .map_err(|e| Error::Response {
                operation,
                message: e.to_string(),
            })?
            .map_err(|e| match e {
                ureq::Error::Io(io) => Error::Unreachable {
                    url: url.clone(),
                    message: io.to_string(),
                },
                other => Error::Unreachable {
                    url: url.clone(),
                    message: other.to_string(),
                },
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Err(Error::Service {
            operation,
            target: format!("{bucket}/{key}"),
            status,
            code: xml_field(&text, "Code").unwrap_or_else(|| "(no code)".into()),
            message: xml_field(&text, "Message").unwrap_or_else(|| text.trim().to_string()),
        })
    }

    fn io_err(&self, what: &str, source: io::Error) -> Error {
        Error::Io {
            path: what.to_string(),
            source,
        }
    }

    /// Uploads `path` as `bucket/key`; files over [`Client::part_size`] in a
    /// multipart upload (aborted if any part fails).
    pub fn put_file(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, Error> {
        let file_err = |e| Error::Io {
            path: path.display().to_string(),
            source: e,
        };
        let mut file = File::open(path).map_err(file_err)?;
        let len = file.metadata().map_err(file_err)?.len();
        if len <= self.part_size {
            self.send("PUT", "PUT", bucket, key, &[], Body::File(&mut file, len))
                .map_err(|e| match e {
                    Error::Io { source, .. } => file_err(source),
                    e => e,
                })?;
            return Ok(len);
        }
        let mut started = self.send(
            "CreateMultipartUpload",
            "POST",
            bucket,
            key,
            &[("uploads", "")],
            Body::Empty,
        )?;
        let text = started
            .body_mut()
            .read_to_string()
            .map_err(|e| Error::Response {
                operation: "CreateMultipartUpload",
                message: e.to_string(),
            })?;
        let upload_id = xml_field(&text, "UploadId").ok_or_else(|| Error::Response {
            operation: "CreateMultipartUpload",
            message: "no UploadId".into(),
        })?;
        let result = self.put_parts(bucket, key, &mut file, len, &upload_id);
        if result.is_err() {
            let _ = self.send(
                "AbortMultipartUpload",
                "DELETE",
                bucket,
                key,
                &[("uploadId", &upload_id)],
                Body::Empty,
            );
        }
        result.map(|()| len)
    }

    fn put_parts(
        &self,
        bucket: &str,
        key: &str,
        file: &mut File,
        len: u64,
        upload_id: &str,
    ) -> Result<(), Error> {
        let mut done = String::from("<CompleteMultipartUpload>");
        let mut offset = 0;
        let mut number = 1u32;
        while offset < len {
            let part = self.part_size.min(len - offset);
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| self.io_err(key, e))?;
            let n = number.to_string();
            let response = self.send(
                "UploadPart",
                "PUT",
                bucket,
                key,
                &[("partNumber", &n), ("uploadId", upload_id)],
                Body::File(file, part),
            )?;
            let etag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::Response {
                    operation: "UploadPart",
                    message: "no ETag".into(),
                })?;
            done.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                quick_xml::escape::escape(etag)
            ));
            offset += part;
            number += 1;
        }
        done.push_str("</CompleteMultipartUpload>");
        let mut response = self.send(
            "CompleteMultipartUpload",
            "POST",
            bucket,
            key,
            &[("uploadId", upload_id)],
            Body::Bytes(done.as_bytes()),
        )?;
        // S3 may answer 200 with an error document.
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if let Some(code) = xml_field(&text, "Code") {
            return Err(Error::Service {
                operation: "CompleteMultipartUpload",
                target: format!("{bucket}/{key}"),
                status: 200,
                code,
                message: xml_field(&text, "Message").unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Every object whose key starts with `prefix` (ListObjectsV2, all pages).
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Object>, Error> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(t) = &token {
                query.push(("continuation-token", t));
            }
            let mut response = self.send("LIST", "GET", bucket, "", &query, Body::Empty)?;
            let text = response
                .body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_string()
                .map_err(|e| Error::Response {
                    operation: "LIST",
                    message: e.to_string(),
                })?;
            let page = parse_list(&text)?;
            objects.extend(page.objects);
            match page.next {
                Some(next) if page.truncated => token = Some(next),
                _ => return Ok(objects),
            }
        }
    }

    /// Deletes `bucket/key`.
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        self.send("DELETE", "DELETE", bucket, key, &[], Body::Empty)
            .map(drop)
    }

    /// Streams `bucket/key` into `out`; returns its length.
    pub fn get(&self, bucket: &str, key: &str, out: &mut dyn Write) -> Result<u64, Error> {
        let mut response = self.send("GET", "GET", bucket, key, &[], Body::Empty)?;
        io::copy(&mut response.body_mut().as_reader(), out).map_err(|e| Error::Response {
            operation: "GET",
            message: e.to_string(),
        })
    }

    /// Creates `bucket` (for tests and first-time setups).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        self.send("CreateBucket", "PUT", bucket, "", &[], Body::Empty)
            .map(drop)
    }
}

/// One page of a listing.
struct ListPage {
    objects: Vec<Object>,
    truncated: bool,
    next: Option<String>,
}

/// Parses a `ListBucketResult`.
fn parse_list(xml: &str) -> Result<ListPage, Error> {
    use quick_xml::events::Event;
    let bad = |message: String| Error::Response {
        operation: "LIST",
        message,
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut page = ListPage {
        objects: Vec::new(),
        truncated: false,
        next: None,
    };
    let mut current: Option<Object> = None;
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if name == "Contents" {
                    current = Some(Object {
                        key: String::new(),
                        size: 0,
                        modified: 0,
                    });
                }
                path.push(name);
            }
            Event::End(e) => {
                if e.name().as_ref() == b"Contents" {
                    page.objects.extend(current.take());
                }
                path.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| bad(e.to_string()))?.into_owned();
                match (path.last().map(String::as_str), current.as_mut()) {
                    (Some("Key"), Some(o)) => o.key.push_str(&text),
                    (Some("Size"), Some(o)) => {
                        o.size = text
                            .trim()
                            .parse()
                            .map_err(|_| bad(format!("size {text}")))?
                    }
                    (Some("LastModified"), Some(o)) => {
                        o.modified = chrono::DateTime::parse_from_rfc3339(text.trim())
                            .map(|d| d.timestamp())
                            .unwrap_or(0)
                    }
                    (Some("IsTruncated"), None) => page.truncated = text.trim() == "true",
                    (Some("NextContinuationToken"), None) => page.next = Some(text),
                    _ => {}
                }
            }
            Event::Eof => return Ok(page),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listings_and_errors() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Prefix>2024/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>
<NextContinuationToken>tok+1</NextContinuationToken>
<Contents><Key>2024/01/02/a &amp; b</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><Size>12</Size></Contents>
<Contents><Key>2024/01/02/c</Key><Size>0</Size></Contents></ListBucketResult>"#;
        let page = parse_list(xml).unwrap();
        assert!(page.truncated);
        assert_eq!(page.next.as_deref(), Some("tok+1"));
        assert_eq!(
            page.objects,
            [
                Object {
                    key: "2024/01/02/a & b".into(),
                    size: 12,
                    modified: 1704164645
                },
                Object {
                    key: "2024/01/02/c".into(),
                    size: 0,
                    modified: 0
                }
            ]
        );
        let err = "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist.</Message></Error>";
        assert_eq!(
            xml_field(err, "Code").as_deref(),
            Some("InvalidAccessKeyId")
        );
    }

    #[test]
    fn addresses_aws_and_endpoints() {
        let settings = |endpoint: Option<&str>| profile::Settings {
            credentials: Credentials {
                access_key_id: "a".into(),
                secret_access_key: "b".into(),
                session_token: None,
            },
            region: "eu-west-1".into(),
            endpoint: endpoint.map(String::from),
        };
        let c = Client::new(settings(None));
        assert_eq!(
            c.address("bk", "2024/01/02/a b"),
            (
                "https://bk.s3.eu-west-1.amazonaws.com/2024/01/02/a%20b".into(),
                "bk.s3.eu-west-1.amazonaws.com".into(),
                "/2024/01/02/a%20b".into()
            )
        );
        assert_eq!(c.address("a.b", "k").1, "s3.eu-west-1.amazonaws.com");
        let c = Client::new(settings(Some("http://127.0.0.1:80")));
        assert_eq!(
            c.address("bk", "k"),
            (
                "http://127.0.0.1:80/bk/k".into(),
                "127.0.0.1".into(),
                "/bk/k".into()
            )
        );
    }
}
