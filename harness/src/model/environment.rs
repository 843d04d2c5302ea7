//! The environment a run measured: enough to know whether two runs are comparable.

use serde::{Deserialize, Serialize};

/// How the binaries that measured were built; debug figures are not representative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildProfile {
    Debug,
    Release,
}

/// CPU flags that change the speed of the crypto under test (SHA-256 for HS256 and session
/// hashes, big-number arithmetic for RSA and ECDSA, AES, wide vectors).
pub const CRYPTO_FLAGS: [&str; 6] = ["avx2", "avx512f", "sha_ni", "aes", "bmi2", "adx"];

/// The machine, toolchain, source and store versions of a run; None where it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    pub cpu_model: Option<String>,
    /// Which of [`CRYPTO_FLAGS`] the processor has: two machines with the same model name can
    /// differ in them (a hypervisor may hide some). None when /proc/cpuinfo lists no flags.
    pub cpu_flags: Option<Vec<String>>,
    pub cores: Option<usize>,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub hostname: Option<String>,
    pub rustc: Option<String>,
    pub authbench_version: Option<String>,
    pub git_sha: Option<String>,
    pub git_dirty: Option<bool>,
    pub postgres_version: Option<String>,
    pub redis_version: Option<String>,
    pub build_profile: Option<BuildProfile>,
}

impl Environment {
    /// Each field as (name, text), "unknown" where it was not read: the report's environment table.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        fn show<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map_or_else(|| "unknown".to_owned(), T::to_string)
        }
        let profile = self.build_profile.map(|p| match p {
            BuildProfile::Debug => "debug",
            BuildProfile::Release => "release",
        });
        vec![
            ("cpu_model", show(&self.cpu_model)),
            ("cpu_flags", self.cpu_flags.as_ref().map_or_else(|| "unknown".to_owned(), |f| flag_list(f))),
            ("cores", show(&self.cores)),
            ("memory_bytes", show(&self.memory_bytes)),
            ("kernel", show(&self.kernel)),
            ("rustc", show(&self.rustc)),
            ("postgres_version", show(&self.postgres_version)),
            ("redis_version", show(&self.redis_version)),
            ("git_sha", show(&self.git_sha)),
            ("git_dirty", show(&self.git_dirty)),
            ("build_profile", show(&profile)),
        ]
    }

    /// Same processor and core count: the condition for comparing two runs' figures.
    pub fn same_machine_kind(&self, other: &Environment) -> bool {
        self.cpu_model == other.cpu_model && self.cores == other.cores
    }
}

/// The flags present, or a sentence saying none of the relevant ones is.
fn flag_list(flags: &[String]) -> String {
    if flags.is_empty() {
        format!("none of {}", CRYPTO_FLAGS.join(" "))
    } else {
        flags.join(" ")
    }
}
