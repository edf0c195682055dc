//! A throwaway OpenSSH server on 127.0.0.1 for peer tests: its own host key,
//! a client key authorized for the current user, `StrictModes no`, killed
//! (by its own pid) when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub key: PathBuf,
    child: Child,
}

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
}

impl Sshd {
    /// Starts sshd, or returns `None` (skip) when OpenSSH is not installed
    /// outside CI. Under CI a missing sshd is a failure.
    pub fn start() -> Option<Sshd> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.exists() || !Path::new("/usr/bin/scp").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssh-server/client required under CI"
            );
            eprintln!("skipping: OpenSSH not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let host_key = dir.path().join("host_key");
        let key = dir.path().join("user_key");
        keygen(&host_key);
        keygen(&key);
        std::fs::copy(
            key.with_extension("pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        // Privilege separation needs this directory when sshd runs as root.
        if nix::unistd::geteuid().is_root() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.path().join("sshd_config");
        let sftp = [
            "/usr/lib/openssh/sftp-server",
            "/usr/libexec/sftp-server",
            "/usr/lib/ssh/sftp-server",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/usr/lib/openssh/sftp-server");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
                 StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nSubsystem sftp {sftp}\nLogLevel ERROR\n",
                host_key.display(),
                dir.path().join("sshd.pid").display(),
                dir.path().join("authorized_keys").display(),
            ),
        )
        .unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("sshd.log")).unwrap())
            .spawn()
            .expect("sshd starts");
        let s = Sshd {
            dir,
            port,
            key,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not come up: {}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(s)
    }

    fn opts(&self) -> String {
        format!(
            "-i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR",
            self.key.display()
        )
    }

    /// An scp command line for `rcp_command`.
    pub fn rcp(&self) -> String {
        format!("/usr/bin/scp -B -q -P {} {}", self.port, self.opts())
    }

    /// An ssh command line for `rsh_command`.
    pub fn rsh(&self) -> String {
        format!("/usr/bin/ssh -p {} {}", self.port, self.opts())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
