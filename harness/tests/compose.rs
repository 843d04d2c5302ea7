//! docker-compose.yml must stay valid for users with Docker, though nothing here depends on it.

use std::path::Path;
use std::process::Command;

/// The file demands a control key (it ships none); any 16+ bytes do for checking its syntax.
const KEY: (&str, &str) = ("AUTHBENCH_CONTROL_KEY", "compose-config-check-key");

#[test]
fn docker_compose_file_is_valid() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker-compose.yml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .args(["config", "-q"])
        .env(KEY.0, KEY.1)
        .output()
        .expect("docker-compose not installed: run scripts/install-deps.sh (Debian package docker-compose)");
    assert!(out.status.success(), "docker-compose config rejected the file: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn compose_describes_postgres_and_redis_with_healthchecks() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker-compose.yml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .arg("config")
        .env(KEY.0, KEY.1)
        .output()
        .expect("docker-compose not installed: run scripts/install-deps.sh (Debian package docker-compose)");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["postgres:", "redis:", "healthcheck:", "pg_isready", "redis-cli"] {
        assert!(text.contains(needle), "resolved compose config lacks {needle}:\n{text}");
    }
}

#[test]
fn compose_ships_no_control_key() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker-compose.yml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .args(["config", "-q"])
        .env_remove(KEY.0)
        .output()
        .expect("docker-compose not installed: run scripts/install-deps.sh (Debian package docker-compose)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "docker-compose accepted the file without AUTHBENCH_CONTROL_KEY");
    assert!(stderr.contains(KEY.0), "the refusal should name the variable: {stderr}");
}
