//! Fault cases on real servers the run starts itself: during a store outage session targets answer
//! 503 (never 500, never a hang through the outage) while a jwt target keeps answering 200; after
//! a Redis restart without persistence session clients log in again and recover; a target restart
//! loses a memory store's sessions; the run keeps its other cases, marks each fault window, and
//! leaves nothing running. With a store the user gave, the fault is refused, not performed.
//! Counts and invariants only; timings are never asserted.

use std::path::Path;
use std::process::Command;

use authbench_harness::model::fault::{FaultSubject, Recovery};
use authbench_harness::model::results::{Case, CaseRole, Results, Second};

const MATRIX: &str = r#"
description = "fault cases under test"
warmup = "1s"
duration = "1s"
probe_cap = "1s"
seed_users = 40
probe_users = 1

[[target]]
strategy = "jwt"
alg = "HS256"

[[target]]
strategy = "session"
store = "redis"

[[target]]
strategy = "session"
store = "postgres"

[[target]]
strategy = "session"
store = "memory"

[[load]]
scenario = "browse"
model = "closed"
users = 2

[[fault]]
targets = ["jwt-HS256", "session-redis", "session-postgres"]
load = { scenario = "browse", model = "open", rate_rps = 200.0, users = 8 }
fault = { kind = "store_outage", at = "1s", lasting = "3s" }
duration = "6s"

[[fault]]
targets = ["session-redis"]
load = { scenario = "browse", model = "open", rate_rps = 200.0, users = 8 }
fault = { kind = "store_restart", at = "1s", down = "1s", data = "lost" }
duration = "5s"

[[fault]]
targets = ["session-memory"]
load = { scenario = "browse", model = "open", rate_rps = 200.0, users = 8 }
fault = { kind = "target_restart", at = "1s" }
duration = "4s"
"#;

/// Runs `authbench run` on `matrix` with the environment's store URLs removed (the run starts its
/// own servers) or kept; returns the results and the harness's pid.
fn run(dir: &Path, matrix: &str, own_stores: bool) -> (Results, u32) {
    let file = dir.join("matrix.toml");
    std::fs::write(&file, matrix).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authbench"));
    cmd.args(["run", "--matrix"]).arg(&file).arg("--out").arg(dir.join("out"));
    if own_stores {
        cmd.env_remove("AUTHBENCH_REDIS_URL").env_remove("AUTHBENCH_POSTGRES_URL");
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    (authbench_harness::model::results::read(&dir.join("out")).unwrap(), pid)
}

fn fault_case<'a>(r: &'a Results, id: &str) -> &'a Case {
    r.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{id} missing; skipped: {:?}", r.skipped))
}

/// The timeline seconds whose middle lies inside the case's fault.
fn during(c: &Case) -> Vec<&Second> {
    let f = c.fault.as_ref().unwrap();
    let t = c.timeline.as_ref().unwrap();
    t.seconds.iter().filter(|s| f64::from(s.t_s) + 0.5 >= f.start_s && f64::from(s.t_s) + 0.5 <= f.end_s).collect()
}

/// Processes whose command line names the harness's pid: its targets and throwaway stores.
fn leftovers(pid: u32) -> Vec<String> {
    let marks = [format!("ab{pid}_"), format!("authbench-redis-{pid}-"), format!("authbench-postgres-{pid}-")];
    procfs::process::all_processes()
        .unwrap()
        .flatten()
        .filter_map(|p| p.cmdline().ok().map(|c| c.join(" ")))
        .filter(|c| marks.iter().any(|m| c.contains(m.as_str())))
        .collect()
}

fn check_outage(r: &Results) {
    let jwt = fault_case(r, "jwt-HS256/browse-open-8u-200rps/store_outage");
    let jf = jwt.fault.as_ref().unwrap();
    assert_eq!(jf.subject, FaultSubject::Control);
    assert_eq!(jwt.error_count(), 0, "a jwt target has no store to lose: {:?}", jwt.errors);
    assert_eq!(jf.outcome.recovery, Recovery::Undisturbed);
    for id in ["session-redis", "session-postgres"] {
        let c = fault_case(r, &format!("{id}/browse-open-8u-200rps/store_outage"));
        let f = c.fault.as_ref().unwrap();
        assert!(matches!(f.subject, FaultSubject::Store { .. }), "{id}: {:?}", f.subject);
        let t = c.timeline.as_ref().unwrap();
        assert!(f.start_s >= t.window_start_s && f.start_s < f.end_s, "{id}: fault window {f:?} outside {t:?}");
        assert!(!c.errors.contains_key("500"), "{id}: a store outage is a 503, never a 500: {:?}", c.errors);
        // Answers keep coming back during a 3 s outage: the target times out, it does not hang.
        let seconds = during(c);
        assert!(seconds.len() >= 2, "{id}: {seconds:?}");
        assert!(seconds.iter().all(|s| s.unavailable > 0), "{id}: a second of the outage without a 503: {seconds:?}");
        assert!(matches!(f.outcome.recovery, Recovery::After { .. }), "{id}: {:?}", f.outcome.recovery);
        assert_eq!(f.outcome.sessions_lost, 0, "{id}: frozen, not emptied");
        assert!(f.outcome.health.alive && f.outcome.health.healthz_after == Some(200), "{id}: {:?}", f.outcome.health);
    }
}

fn check_restarts(r: &Results) {
    let lost = fault_case(r, "session-redis/browse-open-8u-200rps/store_restart_lost");
    let o = &lost.fault.as_ref().unwrap().outcome;
    assert!(o.sessions_lost >= 8, "every one of the 8 users lost its session: {o:?}");
    assert!(o.relogins >= o.sessions_lost, "each lost session was followed by a new login: {o:?}");
    assert!(matches!(o.recovery, Recovery::After { .. }), "{o:?}");
    let memory = fault_case(r, "session-memory/browse-open-8u-200rps/target_restart");
    let f = memory.fault.as_ref().unwrap();
    assert_eq!(f.subject, FaultSubject::Target);
    assert!(f.outcome.sessions_lost >= 8, "a memory store dies with its process: {:?}", f.outcome);
    assert!(f.outcome.health.alive, "the restarted target runs: {:?}", f.outcome.health);
}

#[test]
fn faults_are_performed_measured_and_cleaned_up() {
    let tmp = tempfile::Builder::new().prefix("authbench-faults-").tempdir().unwrap();
    let (r, pid) = run(tmp.path(), MATRIX, true);
    assert_eq!(r.skipped.len(), 0, "{:?}", r.skipped);
    let faults = r.cases.iter().filter(|c| c.role == CaseRole::Fault).count();
    assert_eq!(faults, 5);
    assert!(r.cases.iter().filter(|c| c.role == CaseRole::Fault).all(|c| c.fault.is_some()));
    assert_eq!(r.summaries.len(), 4, "fault cases never enter the speed summaries");
    check_outage(&r);
    check_restarts(&r);
    assert_eq!(leftovers(pid), Vec::<String>::new(), "nothing the run started may outlive it");
}

#[test]
fn a_store_the_user_gave_is_never_faulted() {
    let Ok(url) = std::env::var("AUTHBENCH_REDIS_URL") else {
        panic!("AUTHBENCH_REDIS_URL is not set: run the tests with scripts/test.sh");
    };
    let tmp = tempfile::Builder::new().prefix("authbench-faults-external-").tempdir().unwrap();
    let matrix = MATRIX
        .split("[[target]]\nstrategy = \"session\"\nstore = \"postgres\"")
        .next()
        .unwrap()
        .to_owned()
        + "[[load]]\nscenario = \"browse\"\nmodel = \"closed\"\nusers = 2\n\n[[fault]]\ntargets = [\"session-redis\"]\n\
           load = { scenario = \"browse\", model = \"open\", rate_rps = 50.0, users = 2 }\n\
           fault = { kind = \"store_outage\", at = \"1s\", lasting = \"1s\" }\nduration = \"4s\"\n";
    let (r, _) = run(tmp.path(), &matrix, false);
    let skipped = r.skipped.iter().find(|s| s.id.ends_with("/store_outage")).expect("the fault case is listed");
    assert!(skipped.reason.contains("--redis-url"), "{}", skipped.reason);
    assert!(r.cases.iter().any(|c| c.role == CaseRole::Matrix), "the speed cases still ran");
    assert!(Command::new("redis-cli").args(["-u", &url, "PING"]).output().unwrap().status.success());
}
