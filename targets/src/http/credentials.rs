//! Where a request's credential lives for each transport, and the cookies that carry it.

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::error::Failure;
use crate::spec::Transport;

pub use crate::contract::{ACCESS_COOKIE, REFRESH_COOKIE};

/// Largest Authorization or Cookie header read; larger ones get 431 before any parsing.
pub const MAX_CREDENTIAL_HEADER: usize = 8192;

/// The access credential of a request, borrowed from its headers.
pub fn access_credential(headers: &HeaderMap, transport: Transport) -> Result<&str, Failure> {
    match transport {
        Transport::Bearer => bearer(headers),
        Transport::Cookie => cookie(headers, ACCESS_COOKIE),
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, Failure> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(Failure::Missing)?;
    if values.next().is_some() {
        return Err(Failure::Malformed);
    }
    if value.len() > MAX_CREDENTIAL_HEADER {
        return Err(Failure::HeaderTooLarge);
    }
    let text = value.to_str().map_err(|_| Failure::Malformed)?;
    let (scheme, token) = text.split_once(' ').ok_or(Failure::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Failure::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::Missing);
    }
    Ok(token)
}

/// The value of a named cookie across all Cookie headers. A name present twice is refused
/// (Malformed, 401) rather than guessed at: a second value is what cookie tossing from a sibling
/// subdomain or an insecure origin looks like, and servers disagree on which one wins.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Failure> {
    let mut found: Option<Option<&'h str>> = None;
    for value in headers.get_all(COOKIE) {
        if value.len() > MAX_CREDENTIAL_HEADER {
            return Err(Failure::HeaderTooLarge);
        }
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse(text).flatten() {
            if c.name_raw() == Some(name) {
                if found.is_some() {
                    return Err(Failure::Malformed);
                }
                found = Some(c.value_raw());
            }
        }
    }
    found.flatten().filter(|v| !v.is_empty()).ok_or(Failure::Missing)
}

/// A Set-Cookie value with the secure attributes every credential cookie carries.
pub fn set_cookie(name: &'static str, value: &str, max_age_s: u64) -> HeaderValue {
    let path = if name == REFRESH_COOKIE { "/auth" } else { "/" };
    let c = Cookie::build((name, value))
        .path(path)
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(i64::try_from(max_age_s).unwrap_or(i64::MAX)))
        .build();
    // Names are constants and values base64url or JWT text: always valid header bytes.
    HeaderValue::from_str(&c.encoded().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A Set-Cookie value that deletes the cookie in the browser.
pub fn clear_cookie(name: &'static str) -> HeaderValue {
    set_cookie(name, "", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: axum::http::HeaderName, v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(access_credential(&headers(AUTHORIZATION, "Bearer abc"), Transport::Bearer), Ok("abc"));
        assert_eq!(access_credential(&headers(AUTHORIZATION, "bearer abc"), Transport::Bearer), Ok("abc"));
        assert_eq!(access_credential(&headers(AUTHORIZATION, "Basic abc"), Transport::Bearer), Err(Failure::Malformed));
        assert_eq!(access_credential(&headers(AUTHORIZATION, "Bearer "), Transport::Bearer), Err(Failure::Missing));
        assert_eq!(access_credential(&HeaderMap::new(), Transport::Bearer), Err(Failure::Missing));
        let big = format!("Bearer {}", "a".repeat(MAX_CREDENTIAL_HEADER));
        assert_eq!(access_credential(&headers(AUTHORIZATION, &big), Transport::Bearer), Err(Failure::HeaderTooLarge));
    }

    #[test]
    fn cookie_parsing() {
        let h = headers(COOKIE, "a=1; __Host-authbench=tok; b=2");
        assert_eq!(access_credential(&h, Transport::Cookie), Ok("tok"));
        assert_eq!(access_credential(&headers(COOKIE, "a=1"), Transport::Cookie), Err(Failure::Missing));
        assert_eq!(cookie(&headers(COOKIE, "__Secure-authbench-refresh=r"), REFRESH_COOKIE), Ok("r"));
    }

    #[test]
    fn duplicate_cookies_are_refused() {
        let two = |v: &str| access_credential(&headers(COOKIE, v), Transport::Cookie).map(str::to_owned);
        assert_eq!(two("__Host-authbench=a; __Host-authbench=a"), Err(Failure::Malformed));
        assert_eq!(two("__Host-authbench=a; x=1; __Host-authbench=b"), Err(Failure::Malformed));
        assert_eq!(two("__Host-authbench=; __Host-authbench=b"), Err(Failure::Malformed));
        let mut h = headers(COOKIE, "__Host-authbench=a");
        h.append(COOKIE, HeaderValue::from_static("__Host-authbench=b"));
        assert_eq!(access_credential(&h, Transport::Cookie), Err(Failure::Malformed));
        assert_eq!(two("__Host-authbench=a; __Host-authbench-x=b"), Ok("a".to_owned()));
    }

    #[test]
    fn cookies_are_secure() {
        let v = set_cookie(ACCESS_COOKIE, "tok", 60);
        let s = v.to_str().unwrap();
        for attr in ["__Host-authbench=tok", "HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=60"] {
            assert!(s.contains(attr), "{s} lacks {attr}");
        }
        assert!(!s.contains("Domain"), "__Host- cookies must not set Domain");
        let r = set_cookie(REFRESH_COOKIE, "r", 60);
        assert!(r.to_str().unwrap().contains("Path=/auth"));
        assert!(clear_cookie(ACCESS_COOKIE).to_str().unwrap().contains("Max-Age=0"));
    }
}
