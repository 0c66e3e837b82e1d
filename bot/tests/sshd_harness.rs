//! The sshd harness of the SSH job tests (`common/sshd.rs`) works: real OpenSSH servers on
//! loopback answer the system client with strict host key checking, refuse a wrong host key,
//! and a killed host drops its established sessions. Needs Debian's openssh-server
//! (`scripts/setup-test-env.sh`).

mod common;

use common::sshd::{write_known_hosts, Keys, Sshd};
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[track_caller]
fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: ssh exited with {}; stdout: {:?}; stderr: {:?}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn two_hosts_run_commands_over_ssh() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let keys = Keys::generate(dir.path());
    let a = Sshd::start(dir.path(), &keys, "a");
    let b = Sshd::start(dir.path(), &keys, "b");
    assert_ne!(a.port(), b.port());
    for host in [&a, &b] {
        assert_eq!(host.address(), "127.0.0.1");
        // SSH_CONNECTION: client address, client port, server address, server port
        let out = host.ssh("echo hello; echo \"$SSH_CONNECTION\"; id -un");
        assert_ok(&out, host.name());
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.first(), Some(&"hello"), "{stdout:?}");
        let connection: Vec<&str> = lines.get(1).copied().unwrap_or("").split(' ').collect();
        assert_eq!(
            connection.get(2..4),
            Some(&["127.0.0.1", host.port().to_string().as_str()][..]),
            "{stdout:?}"
        );
        assert_eq!(lines.get(2), Some(&host.user()), "{stdout:?}");
        assert!(
            host.log().contains("Accepted publickey for"),
            "{}",
            host.log()
        );
    }

    // one known_hosts file for both, as a client of several hosts has
    let both = dir.path().join("known_hosts");
    write_known_hosts(&both, &[&a, &b]);
    for host in [&a, &b] {
        let out = host
            .ssh_command_with(&both, "echo hello")
            .output()
            .expect("run ssh");
        assert_ok(&out, host.name());
        assert_eq!(text(&out.stdout), "hello\n");
    }
}

/// `ssh` to `host` checked against `known_hosts` fails host key verification (255) and runs
/// nothing.
fn assert_host_key_refused(host: &Sshd, known_hosts: &std::path::Path) {
    let out = host
        .ssh_command_with(known_hosts, "echo hello")
        .output()
        .expect("run ssh");
    assert_eq!(out.status.code(), Some(255), "{out:?}");
    assert!(
        text(&out.stderr).contains("Host key verification failed"),
        "{:?}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn a_wrong_host_key_fails_host_key_verification() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let keys = Keys::generate(dir.path());
    let a = Sshd::start(dir.path(), &keys, "a");
    let b = Sshd::start(dir.path(), &keys, "b");
    assert_ne!(a.host_public_key(), b.host_public_key());
    // a's address and port with b's key
    let wrong = dir.path().join("wrong_known_hosts");
    std::fs::write(
        &wrong,
        format!("[127.0.0.1]:{} {}\n", a.port(), b.host_public_key()),
    )
    .expect("write the known_hosts file");
    assert_host_key_refused(&a, &wrong);
    // an empty one: unknown host, refused as well (strict checking never adds keys)
    let empty = dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").expect("write the known_hosts file");
    assert_host_key_refused(&a, &empty);
    assert_eq!(std::fs::read_to_string(&empty).expect("read it"), "");
}

#[test]
fn killing_a_host_drops_its_established_sessions() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let keys = Keys::generate(dir.path());
    let mut host = Sshd::start(dir.path(), &keys, "a");
    let other = Sshd::start(dir.path(), &keys, "b");
    // the remote shell prints its pid, then becomes `sleep 30`
    let mut session = host
        .ssh_command("echo $$; exec sleep 30")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ssh");
    let mut first = String::new();
    BufReader::new(session.stdout.take().expect("ssh's stdout"))
        .read_line(&mut first)
        .expect("read the remote pid");
    let remote: i32 = first
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a pid: {first:?}"));
    assert!(
        std::path::Path::new(&format!("/proc/{remote}")).exists(),
        "the remote sleep runs"
    );

    let killed_at = Instant::now();
    host.kill();
    let status = loop {
        if let Some(status) = session.try_wait().expect("wait for ssh") {
            break status;
        }
        if killed_at.elapsed() > Duration::from_secs(5) {
            let _ = session.kill();
            panic!("the session survived the host's kill by 5 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "the session ended {:?} after the kill with {status}",
        killed_at.elapsed()
    );
    assert_eq!(status.code(), Some(255));
    // the remote command died with its host (gone, or a zombie waiting for init)
    let state = std::fs::read_to_string(format!("/proc/{remote}/stat")).unwrap_or_default();
    let state = state
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("gone");
    assert!(
        matches!(state, "gone" | "Z" | "X"),
        "the remote command is still there, state {state}"
    );
    // the host refuses new connections; the other one still answers
    let out = host.ssh("echo hello");
    assert_eq!(out.status.code(), Some(255), "{out:?}");
    assert_ok(&other.ssh("echo hello"), "the other host");
}
