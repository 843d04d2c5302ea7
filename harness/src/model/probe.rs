//! What the security probe and the storage measurement record per target configuration.

use authbench_targets::spec::StrategyKind;
use serde::{Deserialize, Serialize};

use super::results::TargetRecord;

/// One measured window beside the bound the TTLs imply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WindowResult {
    /// Seconds from the control call until the last credential under test was refused; None when
    /// some credential was still accepted at the cap.
    pub measured_s: Option<f64>,
    pub still_accepted_at_cap: bool,
    /// Upper bound implied by the configuration (from /control/info).
    pub bound_s: u64,
    /// Requests that were still answered 200 after the control call.
    pub accepted_after_change: u64,
}

impl WindowResult {
    /// The window to compare by: the measurement, or where the probe stopped waiting at `cap_s`
    /// the bound the TTLs imply, or the cap itself when the credential outlived a shorter bound
    /// (said as such wherever it is shown).
    pub fn measured_or_bound_s(&self, cap_s: f64) -> f64 {
        self.measured_s.unwrap_or((self.bound_s as f64).max(cap_s))
    }
}

/// Bytes per stored record and how they were measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Storage {
    pub records: u64,
    pub bytes_per_record: f64,
    pub measured_as: String,
}

/// How a target answered one credential presented to /auth/refresh.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// 200: a new grant was issued for it.
    Accepted,
    /// 401: the credential was refused.
    Refused,
    /// Any other status (store down, busy): neither, so it proves nothing either way.
    Other,
}

/// One refresh attempt: the answer and the status it came with.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reply {
    pub answer: Answer,
    pub status: u16,
}

impl Reply {
    /// Classifies an HTTP status the way clients act on it (200 go on, 401 log in again).
    pub fn of(status: u16) -> Reply {
        let answer = match status {
            200 => Answer::Accepted,
            401 => Answer::Refused,
            _ => Answer::Other,
        };
        Reply { answer, status }
    }
}

/// What a strategy's /auth/refresh takes, which decides whether the refresh probes apply.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RefreshCredential {
    /// A separate opaque refresh token, rotated on every use (hybrid).
    RefreshToken,
    /// The access token itself, exchanged while still valid (jwt).
    AccessToken,
}

/// Why a refresh probe did not run for a configuration.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// The session token is the only credential; its refresh rotates it in place, and the
    /// revocation and logout windows already cover it.
    NoRefreshToken,
}

impl RefreshCredential {
    /// The refresh credential of `strategy`, or why the refresh probes skip it.
    pub fn of(strategy: StrategyKind) -> Result<RefreshCredential, Skip> {
        match strategy {
            StrategyKind::Hybrid => Ok(RefreshCredential::RefreshToken),
            StrategyKind::Jwt => Ok(RefreshCredential::AccessToken),
            StrategyKind::Session | StrategyKind::None => Err(Skip::NoRefreshToken),
        }
    }
}

/// A probe that either ran or did not apply, with the reason.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Applicability<T> {
    Measured(T),
    NotApplicable(Skip),
}

/// A pre-revoke refresh credential presented right after its user was revoked.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RefreshAfterRevoke {
    pub credential: RefreshCredential,
    pub reply: Reply,
    /// Seconds from the first revoke call to the refusal; None when it was not refused.
    pub refused_after_s: Option<f64>,
}

/// Refresh once (R0 → R1), replay the spent R0, then present R1.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reuse {
    pub credential: RefreshCredential,
    /// The spent R0 presented again.
    pub replay: Reply,
    /// R1, presented after the replay.
    pub successor: Reply,
}

/// What the replay of a spent refresh credential did, read off a [`Reuse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReuseOutcome {
    /// The replay was refused and took its successor with it: reuse detection.
    FamilyRevoked,
    /// The replay was refused; the successor still works (rotation without reuse detection).
    SpentRefused,
    /// The spent credential was accepted again: it was never spent.
    SpentAccepted,
    /// Some answer was neither 200 nor 401.
    Inconclusive,
}

impl Reuse {
    /// Reads the two answers as one outcome.
    pub fn outcome(&self) -> ReuseOutcome {
        match (self.replay.answer, self.successor.answer) {
            (Answer::Accepted, _) => ReuseOutcome::SpentAccepted,
            (Answer::Refused, Answer::Refused) => ReuseOutcome::FamilyRevoked,
            (Answer::Refused, Answer::Accepted) => ReuseOutcome::SpentRefused,
            (Answer::Other, _) | (Answer::Refused, Answer::Other) => ReuseOutcome::Inconclusive,
        }
    }
}

/// What an observer on the path between client and target gets: the bytes of one authenticated
/// request as they crossed the wire, the credential header it could read in them, and what that
/// credential got it when presented on a connection of its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exposure {
    /// Bytes the client sent for the request, as the observer captured them.
    pub captured_bytes: u64,
    /// The credential header read in clear; None when the bytes were TLS records.
    pub lifted: Option<LiftedHeader>,
    /// The target's answer to the lifted credential; None when nothing was lifted.
    pub replay: Option<Reply>,
    /// The login answer's Set-Cookie lines, parsed; empty when the credential travels in a header.
    pub set_cookies: Vec<CookieFlags>,
}

impl Exposure {
    /// Whether the observer was served with what it read off the wire.
    pub fn replay_served(&self) -> bool {
        self.replay.is_some_and(|r| r.answer == Answer::Accepted)
    }
}

/// The request header an observer read a credential from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LiftedHeader {
    Authorization,
    Cookie,
}

impl LiftedHeader {
    /// Finds a credential header in the head of a captured HTTP/1.1 request: the header and its value.
    pub fn find(captured: &[u8]) -> Option<(LiftedHeader, String)> {
        let end = captured.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&captured[..end]).ok()?;
        head.split("\r\n").skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            let header = match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => LiftedHeader::Authorization,
                "cookie" => LiftedHeader::Cookie,
                _ => return None,
            };
            Some((header, value.trim().to_owned()))
        })
    }

    /// The header name as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            LiftedHeader::Authorization => "authorization",
            LiftedHeader::Cookie => "cookie",
        }
    }
}

/// The SameSite attribute of a cookie.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

/// The attributes one Set-Cookie line carried, and what they cost it in bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CookieFlags {
    pub name: String,
    pub http_only: bool,
    pub secure: bool,
    /// None when the line set no SameSite (or one no browser knows).
    pub same_site: Option<SameSite>,
    /// Bytes after `name=value`: the attributes, which travel on this answer only, never back.
    pub attribute_bytes: u64,
}

impl CookieFlags {
    /// Parses a Set-Cookie header value; None when it has no `name=value`.
    pub fn parse(line: &str) -> Option<CookieFlags> {
        let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
        let (name, _) = pair.split_once('=')?;
        let mut flags = CookieFlags {
            name: name.trim().to_owned(),
            http_only: false,
            secure: false,
            same_site: None,
            attribute_bytes: (line.len() - pair.len()) as u64,
        };
        for a in attributes.split(';') {
            let (key, value) = a.split_once('=').unwrap_or((a, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "httponly" => flags.http_only = true,
                "secure" => flags.secure = true,
                "samesite" => flags.same_site = SameSite::parse(value.trim()),
                _ => {}
            }
        }
        Some(flags)
    }
}

impl SameSite {
    fn parse(value: &str) -> Option<SameSite> {
        match value.to_ascii_lowercase().as_str() {
            "strict" => Some(SameSite::Strict),
            "lax" => Some(SameSite::Lax),
            "none" => Some(SameSite::None),
            _ => None,
        }
    }

    /// The attribute value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// What each replica behind the balancer answered for one credential issued through it, in
/// replica order: whether replicas agree on who is logged in and who logged out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Agreement {
    /// /api/me on each replica right after a login through the balancer.
    pub after_login: Vec<Reply>,
    /// /api/me on each replica right after that credential's logout through the balancer.
    pub after_logout: Vec<Reply>,
}

impl Agreement {
    /// Whether every replica accepted the fresh credential and every replica gave the same
    /// answer after its logout.
    pub fn agrees(&self) -> bool {
        let same = |r: &[Reply]| r.windows(2).all(|w| w[0].answer == w[1].answer);
        self.after_login.iter().all(|r| r.answer == Answer::Accepted) && same(&self.after_logout)
    }
}

/// The windows and refresh checks for one target configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeResult {
    pub target: TargetRecord,
    pub users: u32,
    pub cap_s: f64,
    pub poll_interval_ms: u64,
    pub revocation: WindowResult,
    pub stale_role: WindowResult,
    /// How long a credential kept working after its own logout; None in files from before the
    /// logout probe.
    #[serde(default)]
    pub logout: Option<WindowResult>,
    /// None in files from before the refresh probes.
    #[serde(default)]
    pub refresh_after_revoke: Option<Applicability<RefreshAfterRevoke>>,
    /// None in files from before the refresh probes.
    #[serde(default)]
    pub reuse: Option<Applicability<Reuse>>,
    pub method: String,
    /// Bytes one stored session or refresh family costs the store (session and hybrid only).
    #[serde(default)]
    pub storage: Option<Storage>,
    /// What an observer on the path lifts from one request; None in files from before the wire probe.
    #[serde(default)]
    pub exposure: Option<Exposure>,
    /// Whether the replicas behind a balancer agree on a credential; None for a single target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_from_before_the_logout_and_refresh_probes_still_reads() {
        use authbench_targets::spec::{StoreKind, TargetSpec};
        use authbench_targets::token::alg::Alg;
        let w =
            WindowResult { measured_s: Some(0.01), still_accepted_at_cap: false, bound_s: 0, accepted_after_change: 0 };
        let spec = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
        let p = ProbeResult {
            target: (&spec).into(),
            users: 2,
            cap_s: 3.0,
            poll_interval_ms: 20,
            revocation: w.clone(),
            stale_role: w.clone(),
            logout: Some(w),
            refresh_after_revoke: Some(Applicability::NotApplicable(Skip::NoRefreshToken)),
            reuse: Some(Applicability::NotApplicable(Skip::NoRefreshToken)),
            method: "m".into(),
            storage: None,
            exposure: None,
            agreement: None,
        };
        let mut old = serde_json::to_value(&p).unwrap();
        for key in ["logout", "refresh_after_revoke", "reuse", "storage", "exposure"] {
            old.as_object_mut().unwrap().remove(key).unwrap();
        }
        let back: ProbeResult = serde_json::from_value(old).unwrap();
        assert_eq!((back.logout, back.refresh_after_revoke, back.reuse), (None, None, None), "not measured, not 0");
        assert_eq!(back.revocation, p.revocation);
    }

    #[test]
    fn reuse_outcomes_and_applicability_are_typed() {
        let reuse =
            |a, b| Reuse { credential: RefreshCredential::RefreshToken, replay: Reply::of(a), successor: Reply::of(b) };
        assert_eq!(reuse(401, 401).outcome(), ReuseOutcome::FamilyRevoked);
        assert_eq!(reuse(401, 200).outcome(), ReuseOutcome::SpentRefused);
        assert_eq!(reuse(200, 200).outcome(), ReuseOutcome::SpentAccepted);
        assert_eq!(reuse(503, 401).outcome(), ReuseOutcome::Inconclusive);
        assert_eq!(RefreshCredential::of(StrategyKind::Session), Err(Skip::NoRefreshToken));
        let skipped: Applicability<Reuse> = Applicability::NotApplicable(Skip::NoRefreshToken);
        let json = serde_json::to_string(&skipped).unwrap();
        assert_eq!(json, r#"{"not_applicable":"no_refresh_token"}"#);
        assert_eq!(serde_json::from_str::<Applicability<Reuse>>(&json).unwrap(), skipped);
    }

    #[test]
    fn an_observer_reads_the_credential_header_of_a_plain_request_only() {
        let plain = b"GET /api/me HTTP/1.1\r\nhost: 127.0.0.1\r\nAuthorization: Bearer abc.def\r\n\r\n";
        assert_eq!(LiftedHeader::find(plain), Some((LiftedHeader::Authorization, "Bearer abc.def".into())));
        let cookie = b"GET /api/me HTTP/1.1\r\ncookie: __Host-authbench=tok\r\n\r\n";
        assert_eq!(LiftedHeader::find(cookie), Some((LiftedHeader::Cookie, "__Host-authbench=tok".into())));
        assert_eq!(LiftedHeader::find(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"), None, "no credential header");
        assert_eq!(LiftedHeader::find(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), None, "a TLS record is not a request");
    }

    #[test]
    fn set_cookie_lines_parse_into_their_flags_and_attribute_bytes() {
        let line = "__Host-authbench=tok; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60";
        let f = CookieFlags::parse(line).unwrap();
        assert_eq!(
            (f.name.as_str(), f.http_only, f.secure, f.same_site),
            ("__Host-authbench", true, true, Some(SameSite::Strict))
        );
        assert_eq!(f.attribute_bytes, (line.len() - "__Host-authbench=tok".len()) as u64);
        let bare = CookieFlags::parse("sid=1").unwrap();
        assert_eq!((bare.http_only, bare.secure, bare.same_site, bare.attribute_bytes), (false, false, None, 0));
        assert_eq!(
            CookieFlags::parse("samesite=lax; no pair").and_then(|f| f.same_site),
            None,
            "a line without name=value first"
        );
        assert_eq!(CookieFlags::parse("a=b; samesite=lax").unwrap().same_site, Some(SameSite::Lax));
        assert_eq!(CookieFlags::parse("nonsense"), None);
    }
}
