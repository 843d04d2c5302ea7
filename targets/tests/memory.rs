//! Memory that stays bounded: a login storm at the OWASP argon2id cost leaves a target's resident
//! memory where hashing on a fixed set of threads puts it (each thread's buffer is allocated at
//! start), instead of the hundreds of megabytes per-login buffers used to leave behind in the
//! allocator. Resident sizes are counts read from /proc, not timings.

mod support;

use std::time::Duration;

use authbench_targets::contract::{self, route};
use reqwest::{Client, StatusCode};
use support::{try_start, Target};

const MIB: u64 = 1024 * 1024;

/// The target's resident set, from /proc/PID/status (VmRSS, in KiB there).
fn rss_bytes(t: &Target) -> u64 {
    let pid = t.pid().expect("target running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading the target's /proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc status");
    kib * 1024
}

/// `logins` logins of seeded users from `clients` concurrent clients, each on its own
/// connection; (succeeded, refused as busy).
async fn storm(t: &Target, logins: u64, clients: usize) -> (u64, u64) {
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(clients));
    let mut all = tokio::task::JoinSet::new();
    for i in 0..logins {
        let gate = std::sync::Arc::clone(&gate);
        let url = t.at(route::LOGIN);
        all.spawn(async move {
            let _turn = gate.acquire_owned().await.unwrap();
            let client = Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(120)).build().unwrap();
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .body(contract::login_body(1 + i % 9_000))
                .send()
                .await
                .expect("login during the storm");
            r.status()
        });
    }
    let (mut ok, mut busy) = (0, 0);
    while let Some(status) = all.join_next().await {
        match status.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => busy += 1,
            other => panic!("a login of the storm answered {other}"),
        }
    }
    (ok, busy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_storm_leaves_resident_memory_bounded() {
    // 10,000 seeded users in memory, two hashing threads at the OWASP cost (19 MiB, t = 2).
    let t = try_start(
        &[
            "--strategy",
            "session",
            "--store",
            "memory",
            "--seed-users",
            "10000",
            "--workers",
            "2",
            "--argon2-m-kib",
            "19456",
            "--argon2-t",
            "2",
        ],
        &[],
    )
    .await
    .unwrap();
    let before = rss_bytes(&t);
    let (ok, busy) = storm(&t, 400, 200).await;
    assert!(ok >= 2, "the storm's logins were refused: {ok} succeeded, {busy} refused as busy");
    let after_one = rss_bytes(&t);
    let (ok2, _) = storm(&t, 400, 200).await;
    assert!(ok2 >= 2);
    let after_two = rss_bytes(&t);
    // Hashing memory is allocated with its threads, before the first login; what a storm adds is
    // connections, tasks and the sessions it created (hundreds of bytes each): tens of MiB at
    // most, never a 19 MiB buffer per login or per thread that ever hashed.
    assert!(
        after_one < before + 64 * MIB,
        "resident memory grew from {} MiB to {} MiB in one storm of 400 logins ({ok} hashed)",
        before / MIB,
        after_one / MIB
    );
    assert!(
        after_two < before + 64 * MIB,
        "resident memory grew from {} MiB to {} MiB after two storms",
        before / MIB,
        after_two / MIB
    );
    // Still serving afterwards.
    let token = t.login_ok(3).await.token();
    assert_eq!(t.me(&token).await, StatusCode::OK);
}
