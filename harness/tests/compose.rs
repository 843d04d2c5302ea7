//! docker-compose.yml must stay valid for users with Docker, though nothing here depends on it.

use std::path::Path;
use std::process::Command;

#[test]
fn docker_compose_file_is_valid() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker-compose.yml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .args(["config", "-q"])
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
        .output()
        .expect("docker-compose not installed: run scripts/install-deps.sh (Debian package docker-compose)");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["postgres:", "redis:", "healthcheck:", "pg_isready", "redis-cli"] {
        assert!(text.contains(needle), "resolved compose config lacks {needle}:\n{text}");
    }
}
