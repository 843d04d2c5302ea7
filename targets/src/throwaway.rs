//! Throwaway PostgreSQL, Redis and Redis Cluster servers on free loopback ports, for tests, benches
//! and the harness.
//!
//! PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a throwaway server could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{what} not found: {hint}")]
    Missing { what: &'static str, hint: &'static str },
    #[error("{what} failed: {detail}")]
    Failed { what: String, detail: String },
}

fn failed(what: impl Into<String>, detail: impl ToString) -> ServiceError {
    ServiceError::Failed { what: what.into(), detail: detail.to_string() }
}

/// A free TCP port on loopback (bind to port 0, read it back, release it).
pub fn free_port() -> Result<u16, ServiceError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| failed("finding a free port", e))?;
    l.local_addr().map(|a| a.port()).map_err(|e| failed("finding a free port", e))
}

fn wait_for_port(port: u16, what: &str, timeout: Duration) -> Result<(), ServiceError> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(failed(format!("waiting for {what} on port {port}"), format!("not listening after {timeout:?}")))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn unique_dir(kind: &str) -> Result<PathBuf, ServiceError> {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("authbench-{kind}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| failed(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// A Redis server owned by this process; stopped and deleted on drop.
pub struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    /// Starts redis-server without persistence on a free port.
    pub fn start() -> Result<Redis, ServiceError> {
        which("redis-server").ok_or(ServiceError::Missing {
            what: "redis-server",
            hint: "install it (apt-get install redis-server) or pass --redis-url",
        })?;
        let mut r = Redis { port: free_port()?, dir: unique_dir("redis")?, child: None };
        r.resume()?;
        Ok(r)
    }

    /// URL for fred and the targets.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server, as a crash or network loss would look to clients.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Shuts the server down cleanly with a snapshot that [`Redis::resume`] loads again: a
    /// restart that keeps the data, as a maintenance restart of a persistent Redis does.
    pub fn shutdown_saving(&mut self) -> Result<(), ServiceError> {
        use std::io::Write;
        let what = "SHUTDOWN SAVE on the throwaway Redis";
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| failed(what, e))?;
        s.write_all(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n").map_err(|e| failed(what, e))?;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().map_err(|e| failed(what, e))?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(what, "the server did not exit within 30 s; it was killed"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Kills the server and deletes any snapshot, so that [`Redis::resume`] starts it empty: a
    /// crash of a Redis that runs without persistence, as a cache usually does.
    pub fn kill_forgetting(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(self.dir.join("dump.rdb"));
    }

    /// Starts the server again on the same port, loading the snapshot a [`Redis::shutdown_saving`]
    /// left, empty otherwise.
    pub fn resume(&mut self) -> Result<(), ServiceError> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed("starting redis-server", e))?;
        self.child = Some(child);
        wait_for_port(self.port, "redis-server", Duration::from_secs(10))
    }

    /// Process id, for CPU accounting.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (port + 10000) is free as well.
fn free_cluster_port() -> Result<u16, ServiceError> {
    for _ in 0..50 {
        let port = free_port()?;
        if port <= u16::MAX - 10_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return Ok(port);
        }
    }
    Err(failed("finding a free port pair for a cluster node", "50 tries found none whose port + 10000 was free"))
}

/// A three-master Redis Cluster on loopback (no replicas) owned by this process, joined with
/// `redis-cli --cluster create`; stopped and deleted on drop.
pub struct RedisCluster {
    ports: Vec<u16>,
    dir: PathBuf,
    children: Vec<Child>,
}

impl RedisCluster {
    /// Nodes in the cluster.
    pub const NODES: usize = 3;

    /// Starts three cluster-enabled redis-servers, creates the cluster and waits until every node
    /// reports `cluster_state:ok`.
    pub fn start() -> Result<RedisCluster, ServiceError> {
        for tool in ["redis-server", "redis-cli"] {
            which(tool).ok_or(ServiceError::Missing {
                what: "redis-server and redis-cli",
                hint: "install them (apt-get install redis-server) or set AUTHBENCH_REDIS_CLUSTER_URL",
            })?;
        }
        let mut cluster = RedisCluster { ports: Vec::new(), dir: unique_dir("redis-cluster")?, children: Vec::new() };
        for _ in 0..Self::NODES {
            let port = free_cluster_port()?;
            cluster.children.push(cluster.node(port)?);
            wait_for_port(port, "a Redis Cluster node", Duration::from_secs(10))?;
            cluster.ports.push(port);
        }
        let nodes: Vec<String> = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| failed("running redis-cli --cluster create", e))?;
        if !out.status.success() {
            let detail = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            return Err(failed("redis-cli --cluster create", detail));
        }
        cluster.wait_until_ok(Duration::from_secs(20))?;
        Ok(cluster)
    }

    fn node(&self, port: u16) -> Result<Child, ServiceError> {
        let conf = self.dir.join(format!("nodes-{port}.conf"));
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(&conf)
            .args(["--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed("starting a Redis Cluster node", e))
    }

    fn wait_until_ok(&self, timeout: Duration) -> Result<(), ServiceError> {
        let deadline = Instant::now() + timeout;
        for port in &self.ports {
            loop {
                let out = Command::new("redis-cli")
                    .args(["-h", "127.0.0.1", "-p", &port.to_string(), "cluster", "info"])
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| failed("running redis-cli cluster info", e))?;
                if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "cluster_state:ok") {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(failed(
                        format!("waiting for the Redis Cluster node on port {port}"),
                        format!("no cluster_state:ok after {timeout:?}"),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// URL for fred and the targets: the first node, the others as `node` parameters.
    pub fn url(&self) -> String {
        let mut url = String::from("redis-cluster://");
        for (i, port) in self.ports.iter().enumerate() {
            url.push_str(&match i {
                0 => format!("127.0.0.1:{port}"),
                1 => format!("?node=127.0.0.1:{port}"),
                _ => format!("&node=127.0.0.1:{port}"),
            });
        }
        url
    }

    /// Process ids of the nodes, for CPU accounting.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster owned by this process; stopped and deleted on drop.
pub struct Postgres {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres_user: bool,
}

/// Finds the newest PostgreSQL server binaries on this machine.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    candidates.sort_by_key(|p| {
        p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
    });
    candidates
        .into_iter()
        .rev()
        .find(|p| p.join("initdb").exists())
        .or_else(|| which("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(cmd)).find(|p| p.is_file()))
}

impl Postgres {
    /// Initialises a cluster in a fresh directory and starts it on a free port.
    pub fn start() -> Result<Postgres, ServiceError> {
        let bin = postgres_bin_dir().ok_or(ServiceError::Missing {
            what: "PostgreSQL server binaries (initdb, pg_ctl)",
            hint: "install PostgreSQL (apt-get install postgresql) or pass --postgres-url",
        })?;
        let as_postgres_user = is_root();
        let dir = unique_dir("postgres")?;
        let mut pg = Postgres { port: free_port()?, dir, bin, as_postgres_user };
        if as_postgres_user {
            let status = Command::new("chown").arg("-R").arg("postgres:postgres").arg(&pg.dir).status();
            if !status.is_ok_and(|s| s.success()) {
                return Err(failed(
                    "handing the data directory to the postgres user",
                    "chown failed (is there a postgres user?)",
                ));
            }
        }
        pg.run(
            "initdb",
            &["-D", &pg.data(), "-U", "authbench", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
        )?;
        pg.resume()?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), ServiceError> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).stdin(Stdio::null()).output().map_err(|e| failed(format!("running {tool}"), e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(failed(format!("{tool} {}", args.join(" ")), String::from_utf8_lossy(&out.stderr).trim().to_owned()))
        }
    }

    /// URL for tokio-postgres and the targets.
    pub fn url(&self) -> String {
        format!("postgres://authbench@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash would look to clients.
    pub fn stop(&mut self) -> Result<(), ServiceError> {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"])
    }

    /// Starts the server again on the same port; data survives.
    pub fn resume(&mut self) -> Result<(), ServiceError> {
        let opts =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300", self.port, self.dir.display());
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &opts, "-w", "-t", "30", "start"])?;
        wait_for_port(self.port, "PostgreSQL", Duration::from_secs(10))
    }

    /// Process id of the postmaster, from its pid file; None while the server is down.
    pub fn postmaster_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
    }

    /// Data directory, whose postmaster.pid names the server process.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
