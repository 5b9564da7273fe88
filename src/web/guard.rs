//! Who may talk to the web surface: the `Host` a request names must be this machine (an IP
//! address, `localhost` or its own host name: defeats DNS rebinding), a state-changing request
//! or WebSocket upgrade must come from the page's own origin (defeats cross-site requests; no
//! CORS is ever granted), and with a password set, every API request but the login needs a
//! session cookie. Not real-time.

use axum::http::{HeaderMap, Method, header};

/// The session cookie's name.
pub const COOKIE: &str = "padlooper_session";

/// The host part of a `Host` header value (`[::1]:8080` → `::1`, `pi.local:80` → `pi.local`).
fn host_part(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or("", |(h, _)| h);
    }
    host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    })
}

/// Whether a request naming `host` is for this machine: any IP address, or one of `names`
/// (case-insensitive). A name a DNS-rebinding page would use (its own domain) is refused.
pub fn host_allowed(host: &str, names: &[String]) -> bool {
    let h = host_part(host.trim());
    if h.is_empty() {
        return false;
    }
    h.parse::<std::net::IpAddr>().is_ok() || names.iter().any(|n| n.eq_ignore_ascii_case(h))
}

/// Whether a request with these headers may change state: a browser's cross-site request
/// says so (`Sec-Fetch-Site: cross-site` or an `Origin` that is not `http(s)://HOST`);
/// a script sending neither header is allowed (it still needs the login).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    if matches!(
        get("sec-fetch-site"),
        Some("cross-site") | Some("same-site")
    ) {
        return false;
    }
    match get(header::ORIGIN.as_str()) {
        None => true,
        Some(origin) => {
            let Some(host) = get(header::HOST.as_str()) else {
                return false;
            };
            let rest = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            rest.is_some_and(|r| r.eq_ignore_ascii_case(host))
        }
    }
}

/// Whether `method` changes state (everything but GET and HEAD).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD)
}

/// The session token in the request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "pi".into(), "pi.local".into()]
    }

    #[test]
    fn hosts_are_this_machine_only() {
        for ok in [
            "127.0.0.1:8080",
            "192.168.1.20:8080",
            "[::1]:8080",
            "localhost:8080",
            "PI.local",
            "pi:80",
        ] {
            assert!(host_allowed(ok, &names()), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "",
            ":8080",
            "localhost.evil.com",
            "[::1",
        ] {
            assert!(!host_allowed(bad, &names()), "{bad}");
        }
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        assert!(same_origin(&h(&[("host", "pi.local:8080")])));
        assert!(same_origin(&h(&[
            ("host", "pi.local:8080"),
            ("origin", "http://pi.local:8080")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "pi.local:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&h(&[("origin", "http://pi.local:8080")])));
        assert!(!same_origin(&h(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert_eq!(
            session_token(&h(&[("cookie", "a=b; padlooper_session=xyz")])),
            Some("xyz")
        );
    }
}
