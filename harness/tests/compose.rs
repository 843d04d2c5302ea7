//! docker-compose.yml must stay valid for users with Docker, though nothing here depends on it,
//! and so must the HAProxy configuration its balancer runs (checked with Debian's haproxy).

use std::path::Path;
use std::process::Command;

/// The file demands a control key (it ships none); any 16+ bytes do for checking its syntax.
const KEY: (&str, &str) = ("AUTHBENCH_CONTROL_KEY", "compose-config-check-key");

/// `docker-compose -f docker-compose.yml ARGS`, with the control key set when `with_key`.
fn compose(args: &[&str], with_key: bool) -> std::process::Output {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker-compose.yml");
    let mut cmd = Command::new("docker-compose");
    cmd.arg("-f").arg(&file).args(args);
    if with_key {
        cmd.env(KEY.0, KEY.1);
    } else {
        cmd.env_remove(KEY.0);
    }
    cmd.output().expect("docker-compose not installed: run scripts/install-deps.sh (Debian package docker-compose)")
}

/// The configuration as compose resolves it, which must be accepted.
fn resolved_config() -> String {
    let out = compose(&["config"], true);
    assert!(out.status.success(), "docker-compose config rejected the file: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_compose_file_is_valid() {
    let out = compose(&["config", "-q"], true);
    assert!(out.status.success(), "docker-compose config rejected the file: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn compose_describes_postgres_and_redis_with_healthchecks() {
    let text = resolved_config();
    for needle in ["postgres:", "redis:", "healthcheck:", "pg_isready", "redis-cli"] {
        assert!(text.contains(needle), "resolved compose config lacks {needle}:\n{text}");
    }
}

#[test]
fn compose_ships_no_control_key() {
    let out = compose(&["config", "-q"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "docker-compose accepted the file without AUTHBENCH_CONTROL_KEY");
    assert!(stderr.contains(KEY.0), "the refusal should name the variable: {stderr}");
}

#[test]
fn compose_has_the_kubernetes_topology_behind_haproxy() {
    let text = resolved_config();
    for needle in [
        "image: haproxy:",
        "deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg",
        "shard-0:",
        "shard-1:",
        "dockerfile: harness/Dockerfile",
        "--via http://lb:8080 --target-dns target:8000",
        "results:/results",
        "authbench merge /results/shard-* --out /results/merged",
        "condition: service_completed_successfully",
    ] {
        assert!(text.contains(needle), "resolved compose config lacks {needle}:\n{text}");
    }
    assert!(!text.contains("nginx"), "the balancer is HAProxy now:\n{text}");
}

/// `haproxy -c -f FILE`: Ok when HAProxy accepts the configuration.
fn haproxy_check(file: &Path) -> Result<(), String> {
    let out = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(file)
        .output()
        .expect("haproxy not installed: run scripts/install-deps.sh (Debian package haproxy)");
    match out.status.success() {
        true => Ok(()),
        false => Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))),
    }
}

#[test]
fn haproxy_accepts_the_balancer_configuration_and_refuses_a_broken_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy.cfg");
    haproxy_check(&file).unwrap_or_else(|e| panic!("haproxy -c refused deploy/haproxy.cfg: {e}"));
    let text = std::fs::read_to_string(&file).expect("read deploy/haproxy.cfg");
    for needle in ["balance roundrobin", "option http-keep-alive", "server-template target"] {
        assert!(text.contains(needle), "deploy/haproxy.cfg lacks `{needle}`");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("haproxy.cfg");
    std::fs::write(&broken, text.replace("balance roundrobin", "balance round-robin")).expect("write broken copy");
    assert!(haproxy_check(&broken).is_err(), "haproxy -c accepted an unknown balance algorithm: the check is vacuous");
}
