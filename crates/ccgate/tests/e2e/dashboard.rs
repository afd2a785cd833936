//! The dashboard over real HTTP against the real binary (decisions §23):
//! the first operator made by the CLI, login and logout, the cookies' and
//! pages' security headers, CSRF on every form, a new session id at every
//! login, the login throttle, and the audit log.

use std::collections::BTreeMap;

use crate::support::{Gateway, HttpResponse};

/// A browser's worth of state for one user: its cookies.
pub struct Visitor<'g> {
    gateway: &'g Gateway,
    pub cookies: BTreeMap<String, String>,
}

impl<'g> Visitor<'g> {
    pub fn new(gateway: &'g Gateway) -> Visitor<'g> {
        Visitor {
            gateway,
            cookies: BTreeMap::new(),
        }
    }

    pub fn get(&mut self, path: &str) -> HttpResponse {
        self.send("GET", path, "")
    }

    /// Posts `fields` as a form.
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> HttpResponse {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.send("POST", path, &body)
    }

    fn send(&mut self, method: &str, path: &str, body: &str) -> HttpResponse {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie.as_str()));
        }
        let response = self
            .gateway
            .raw_request(method, path, &headers, body.as_bytes());
        for set in set_cookies(&response) {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    /// Opens the login page and logs in; the answer to the login.
    pub fn log_in(&mut self, email: &str, password: &str) -> HttpResponse {
        let form = self.get("/dashboard/login");
        assert_eq!(form.status, 200, "{}", form.text());
        let csrf = csrf_of(&form);
        self.post(
            "/dashboard/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
    }

    pub fn session(&self) -> Option<&str> {
        self.cookies.get("ccgate_session").map(String::as_str)
    }
}

pub fn set_cookies(response: &HttpResponse) -> Vec<&str> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The CSRF token in a page's forms.
pub fn csrf_of(page: &HttpResponse) -> String {
    let html = page.text();
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no CSRF field in {html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `ccgate user create …` and the password it printed once.
pub fn create_user(gateway: &Gateway, args: &[&str]) -> String {
    let mut all = vec!["user", "create"];
    all.extend_from_slice(args);
    let out = gateway.cli_ok(&all);
    out.lines()
        .find_map(|line| line.strip_prefix("Password (shown once): "))
        .unwrap_or_else(|| panic!("no password in {out}"))
        .to_owned()
}

#[test]
fn the_first_operator_is_made_by_the_cli_and_logs_in_and_out() {
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", " Ops@Example.com "]);
    assert!(password.len() >= 12, "{password}");
    // The same e-mail twice is refused, whatever its case.
    let again = gateway.cli(&["user", "create", "--operator", "--email", "ops@example.com"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{again:?}"
    );
    // A password from stdin is taken, and a weak one refused.
    let chosen = gateway.cli_with_stdin(
        &[
            "user",
            "create",
            "--operator",
            "--email",
            "second@example.com",
            "--password-stdin",
        ],
        "a long enough passphrase\n",
    );
    assert!(chosen.status.success(), "{chosen:?}");
    assert!(!String::from_utf8_lossy(&chosen.stdout).contains("Password"));
    let weak = gateway.cli_with_stdin(
        &[
            "user",
            "create",
            "--operator",
            "--email",
            "third@example.com",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!weak.status.success());

    let mut visitor = Visitor::new(&gateway);
    // Anonymous: the dashboard sends to the login page.
    let home = visitor.get("/dashboard");
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/dashboard/login"));
    let form = visitor.get("/dashboard/login");
    let csp = form.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(form.header("x-frame-options"), Some("DENY"));
    assert_eq!(form.header("cache-control"), Some("no-store"));
    let login_cookie = set_cookies(&form)[0].to_owned();
    assert!(
        login_cookie.contains("HttpOnly")
            && login_cookie.contains("SameSite=Strict")
            && login_cookie.contains("Path=/dashboard")
            && !login_cookie.contains("Secure"),
        "{login_cookie}"
    );

    let logged_in = visitor.log_in("ops@example.com", &password);
    assert_eq!(logged_in.status, 303, "{}", logged_in.text());
    assert_eq!(logged_in.header("location"), Some("/dashboard"));
    let session_cookie = set_cookies(&logged_in)
        .into_iter()
        .find(|c| c.starts_with("ccgate_session="))
        .unwrap();
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"),
        "{session_cookie}"
    );
    let home = visitor.get("/dashboard");
    assert_eq!(home.status, 200);
    assert!(home.text().contains("ops@example.com"), "{}", home.text());
    // The stylesheet the page links is served by the binary.
    let style = visitor.get("/dashboard/assets/dashboard.css");
    assert_eq!(style.status, 200);
    assert!(
        style
            .header("content-type")
            .unwrap()
            .starts_with("text/css")
    );

    let csrf = csrf_of(&home);
    let out = visitor.post("/dashboard/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(visitor.session(), None, "the cookie is cleared");
    let home = visitor.get("/dashboard");
    assert_eq!(home.status, 303, "logged out");

    // The audit log saw it all, and says from where.
    let mut second = Visitor::new(&gateway);
    assert_eq!(
        second
            .log_in("second@example.com", "a long enough passphrase")
            .status,
        303
    );
    let audit = second.get("/dashboard/audit");
    assert_eq!(audit.status, 200);
    let text = audit.text();
    for expected in [
        "user created",
        "operator ops@example.com",
        "login",
        "logout",
        "127.0.0.1",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
}

#[test]
fn cookies_are_secure_when_the_public_url_is_https() {
    let gateway = Gateway::start(&["--public-url", "https://pay.example.com"]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut visitor = Visitor::new(&gateway);
    let logged_in = visitor.log_in("ops@example.com", &password);
    assert_eq!(logged_in.status, 303);
    let cookies = set_cookies(&logged_in);
    assert!(!cookies.is_empty());
    for cookie in cookies {
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
}

#[test]
fn forms_without_the_csrf_token_are_refused() {
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut visitor = Visitor::new(&gateway);
    // The login form: without its token, or with one that is not its cookie's.
    visitor.get("/dashboard/login");
    let missing = visitor.post(
        "/dashboard/login",
        &[("email", "ops@example.com"), ("password", &password)],
    );
    assert_eq!(missing.status, 403);
    let forged = visitor.post(
        "/dashboard/login",
        &[
            ("email", "ops@example.com"),
            ("password", &password),
            ("csrf", "forged"),
        ],
    );
    assert_eq!(forged.status, 403);
    // A cross-site post carries no cookie (SameSite=Strict): no token to match.
    let mut stranger = Visitor::new(&gateway);
    let cross_site = stranger.post(
        "/dashboard/login",
        &[
            ("email", "ops@example.com"),
            ("password", &password),
            ("csrf", ""),
        ],
    );
    assert_eq!(cross_site.status, 403);
    assert_eq!(stranger.session(), None);

    assert_eq!(visitor.log_in("ops@example.com", &password).status, 303);
    let home = visitor.get("/dashboard");
    let token = csrf_of(&home);
    for fields in [
        vec![],
        vec![("csrf", "0".repeat(64))],
        vec![("csrf", String::new())],
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = visitor.post("/dashboard/logout", &fields);
        assert_eq!(refused.status, 403, "{fields:?}");
        assert_eq!(visitor.get("/dashboard").status, 200, "still logged in");
    }
    assert_eq!(
        visitor
            .post("/dashboard/logout", &[("csrf", &token)])
            .status,
        303
    );
    assert_eq!(visitor.get("/dashboard").status, 303);
}

#[test]
fn every_login_makes_a_new_session_id() {
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut visitor = Visitor::new(&gateway);
    // An id planted before login (by an attacker who knows it) is not kept.
    let planted = "a".repeat(64);
    visitor
        .cookies
        .insert("ccgate_session".into(), planted.clone());
    assert_eq!(visitor.log_in("ops@example.com", &password).status, 303);
    let first = visitor.session().unwrap().to_owned();
    assert_ne!(first, planted);
    let mut attacker = Visitor::new(&gateway);
    attacker.cookies.insert("ccgate_session".into(), planted);
    assert_eq!(attacker.get("/dashboard").status, 303);

    // Logging in again from a live session replaces it: the old id is dead.
    assert_eq!(visitor.log_in("ops@example.com", &password).status, 303);
    let second = visitor.session().unwrap().to_owned();
    assert_ne!(second, first);
    let mut old = Visitor::new(&gateway);
    old.cookies.insert("ccgate_session".into(), first);
    assert_eq!(old.get("/dashboard").status, 303);
    assert_eq!(visitor.get("/dashboard").status, 200);
}

#[test]
fn logins_are_throttled_per_email_and_per_address() {
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let other = create_user(&gateway, &["--operator", "--email", "other@example.com"]);
    let mut visitor = Visitor::new(&gateway);
    for _ in 0..5 {
        let wrong = visitor.log_in("ops@example.com", "not the password at all");
        assert_eq!(wrong.status, 401);
        assert!(wrong.text().contains("wrong"));
    }
    // Five failures: even the right password waits now.
    let throttled = visitor.log_in("ops@example.com", &password);
    assert_eq!(throttled.status, 429, "{}", throttled.text());
    assert_eq!(visitor.session(), None);
    // Another e-mail from the same address still may (5 < 20 failures).
    let mut second = Visitor::new(&gateway);
    assert_eq!(second.log_in("other@example.com", &other).status, 303);
    // Fifteen more failures from this address, each for a new e-mail…
    for n in 0..15 {
        let wrong = visitor.log_in(&format!("nobody{n}@example.com"), "whatever it may be");
        assert_eq!(wrong.status, 401);
    }
    // …and the address is throttled whoever logs in.
    let mut third = Visitor::new(&gateway);
    assert_eq!(third.log_in("other@example.com", &other).status, 429);
    // The refusals are in the audit log.
    let audit = second.get("/dashboard/audit");
    assert!(audit.text().contains("login refused"), "{}", audit.text());
}
