//! The JWT signing algorithms a target can use; lives with the token code so the configuration
//! imports it rather than the other way round.

use std::fmt;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// JWT signing algorithm; RS256-4096 is RS256 with a 4096-bit key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize)]
pub enum Alg {
    #[value(name = "HS256")]
    #[serde(rename = "HS256")]
    Hs256,
    #[value(name = "RS256")]
    #[serde(rename = "RS256")]
    Rs256,
    #[value(name = "RS256-4096")]
    #[serde(rename = "RS256-4096")]
    Rs256_4096,
    #[value(name = "ES256")]
    #[serde(rename = "ES256")]
    Es256,
    #[value(name = "EdDSA")]
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Alg {
    /// Every algorithm, in the order tables list them.
    pub const ALL: [Alg; 5] = [Alg::Hs256, Alg::Rs256, Alg::Rs256_4096, Alg::Es256, Alg::EdDsa];

    /// Name as written on the command line and in results.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Rs256_4096 => "RS256-4096",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The JOSE algorithm that goes into the token header.
    pub fn jose(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::Hs256 => jsonwebtoken::Algorithm::HS256,
            Alg::Rs256 | Alg::Rs256_4096 => jsonwebtoken::Algorithm::RS256,
            Alg::Es256 => jsonwebtoken::Algorithm::ES256,
            Alg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_variant_once() {
        assert_eq!(Alg::ALL.as_slice(), Alg::value_variants());
    }
}
