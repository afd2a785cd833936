//! The dashboard over real HTTP against the real binary (decisions §23):
//! the first operator made by the CLI, login and logout, the cookies' and
//! pages' security headers, CSRF on every form, a new session id at every
//! login, the login throttle, and the audit log.

use std::collections::BTreeMap;

use crate::dashboard_admin::user_id_of;
use crate::support::{
    Gateway, HttpResponse, HttpStub, Merchant, USDT_ERC20, eventually, pay_confirmed,
    permanent_address,
};

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

/// The value a "shown once" page gives for `name`.
pub fn shown(page: &HttpResponse, name: &str) -> String {
    let html = page.text();
    let start = format!("<dt>{name}</dt><dd");
    let at = html
        .find(&start)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + start.len();
    // Past the `<dd>` tag, whatever attributes it has.
    let at = at + html[at..].find('>').unwrap() + 1;
    html[at..at + html[at..].find("</dd>").unwrap()].to_owned()
}

/// A merchant made by the operator `ops` on the dashboard, with the secret
/// its page shows once.
pub fn merchant_made(ops: &mut Visitor, ops_csrf: &str, name: &str) -> Merchant {
    let made = ops.post(
        "/dashboard/merchants",
        &[("csrf", ops_csrf), ("name", name)],
    );
    assert_eq!(made.status, 200, "{}", made.text());
    Merchant {
        app_id: shown(&made, "Appid"),
        app_secret: shown(&made, "App secret"),
    }
}

/// A user of `app_id` made by the operator `ops`, and its password (shown
/// once).
pub fn user_made(ops: &mut Visitor, ops_csrf: &str, app_id: &str, email: &str) -> String {
    let user = ops.post(
        &format!("/dashboard/m/{app_id}/users"),
        &[("csrf", ops_csrf), ("email", email)],
    );
    assert_eq!(user.status, 200, "{}", user.text());
    shown(&user, "Password")
}

/// A logged-in visitor and the CSRF token of its session.
pub fn logged_in<'g>(
    gateway: &'g Gateway,
    email: &str,
    password: &str,
    page: &str,
) -> (Visitor<'g>, String) {
    let mut visitor = Visitor::new(gateway);
    assert_eq!(visitor.log_in(email, password).status, 303);
    let seen = visitor.get(page);
    assert_eq!(seen.status, 200, "{page}: {}", seen.text());
    let csrf = csrf_of(&seen);
    (visitor, csrf)
}

#[test]
fn operators_make_merchants_and_users_and_merchant_users_run_their_webhooks() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, ops_csrf) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");

    let shop = merchant_made(&mut ops, &ops_csrf, "Shop <A>");
    assert!(
        ops.get("/dashboard").text().contains("Shop &lt;A&gt;"),
        "escaped"
    );
    let taken = ops.post(
        "/dashboard/merchants",
        &[("csrf", &ops_csrf), ("name", "Shop <A>")],
    );
    assert_eq!(taken.status, 400);
    let owner_password = user_made(&mut ops, &ops_csrf, &shop.app_id, "owner@shop.example");

    // The merchant user lands on its merchant, sets its webhook URL and
    // sends a test webhook, whose answer the page shows.
    let mut owner = Visitor::new(&gateway);
    assert_eq!(
        owner.log_in("owner@shop.example", &owner_password).status,
        303
    );
    let home = owner.get("/dashboard");
    assert_eq!(home.status, 303);
    let overview_path = format!("/dashboard/m/{}", shop.app_id);
    assert_eq!(home.header("location"), Some(overview_path.as_str()));
    let developers_path = format!("{overview_path}/developers");
    let csrf = csrf_of(&owner.get(&developers_path));
    let set = owner.post(
        &format!("{overview_path}/webhook"),
        &[("csrf", &csrf), ("url", &receiver.url)],
    );
    assert_eq!(set.status, 303, "{}", set.text());
    assert!(owner.get(&developers_path).text().contains(&receiver.url));
    let bad = owner.post(
        &format!("{overview_path}/webhook"),
        &[("csrf", &csrf), ("url", "ftp://nowhere")],
    );
    assert_eq!(bad.status, 400);
    let tested = owner.post(&format!("{overview_path}/webhook/test"), &[("csrf", &csrf)]);
    assert_eq!(tested.status, 200, "{}", tested.text());
    assert!(tested.text().contains("HTTP 200"), "{}", tested.text());
    let pinged = receiver.wait_for_requests(1);
    assert!(String::from_utf8_lossy(&pinged[0].body).contains("ping"));

    // A deposit's webhook is in the delivery log; it can be resent.
    let to = permanent_address(&gateway, &shop, "user-1");
    pay_confirmed(&gateway, &to, "3");
    receiver.wait_for_requests(2);
    let developers = eventually(10, "the delivery in the log", || {
        let page = owner.get(&developers_path);
        if page.text().contains("delivered") {
            Ok(page)
        } else {
            Err(page.text().to_owned())
        }
    });
    let marker = format!("{overview_path}/webhooks/");
    let html = developers.text();
    let at = html.find(&marker).unwrap() + marker.len();
    let webhook_id = html[at..at + html[at..].find('"').unwrap()].to_owned();
    let webhook_path = format!("{overview_path}/webhooks/{webhook_id}");
    let detail = owner.get(&webhook_path);
    assert_eq!(detail.status, 200);
    assert!(detail.text().contains("delivered") && detail.text().contains("paid_amount"));
    assert_eq!(
        owner
            .post(&format!("{webhook_path}/resend"), &[("csrf", &csrf)])
            .status,
        303
    );
    receiver.wait_for_requests(3);
    let overview = owner.get(&overview_path);
    assert!(
        overview.text().contains("USDT") && overview.text().contains("2.9991"),
        "{}",
        overview.text()
    );

    // Orders: listed newest first with their state, narrowed by state, and
    // each one's page (its id escaped into the path).
    for id in ["order-1", "order 2/x"] {
        let body = format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"{id}"}}"#
        );
        let made = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
        assert_eq!(made.json()["code"], 10000, "{}", made.text());
    }
    let listed = owner.get(&format!("{overview_path}/orders"));
    assert_eq!(listed.status, 200);
    let text = listed.text();
    assert!(
        text.find("order 2/x").unwrap() < text.find("order-1").unwrap(),
        "newest first"
    );
    assert!(
        text.contains("Pending") && text.contains("10 USDT"),
        "{text}"
    );
    let successful = owner.get(&format!("{overview_path}/orders?state=Successful"));
    assert!(successful.text().contains("No orders here."));
    assert_eq!(
        owner
            .get(&format!("{overview_path}/orders?state=Lost"))
            .status,
        400
    );
    let one = owner.get(&format!("{overview_path}/orders/order%202%2Fx"));
    assert_eq!(one.status, 200, "{}", one.text());
    assert!(
        one.text().contains(r#"<dd id="order-state">Pending</dd>"#),
        "{}",
        one.text()
    );
    assert_eq!(
        owner.get(&format!("{overview_path}/orders/nope")).status,
        404
    );
    let overview = owner.get(&overview_path);
    assert!(
        overview.text().contains("Pending</a>: 2"),
        "{}",
        overview.text()
    );

    // A new secret, shown once.
    let rotated = owner.post(&format!("{overview_path}/secret"), &[("csrf", &csrf)]);
    assert_eq!(rotated.status, 200);
    let secret = shown(&rotated, "App secret");
    assert_eq!(secret.len(), 32);
    assert_ne!(secret, shop.app_secret);

    let audit = ops.get("/dashboard/audit").text().to_owned();
    for action in [
        "merchant created",
        "user created",
        "webhook URL set",
        "test webhook sent",
        "webhook resent",
        "secret rotated",
    ] {
        assert!(audit.contains(action), "{action} missing: {audit}");
    }
}

/// What a role gets from one route: the status, and for a redirect where to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Page,
    ToLogin,
    ToOwn,
    Done,
    Forbidden,
    NotFound,
}

/// A method, a path, the form's fields besides the CSRF token, and the
/// answer of each role.
pub type Route<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, [Answer; 4]);

pub fn answer_of(response: &HttpResponse) -> Answer {
    match (response.status, response.header("location")) {
        (200, _) => Answer::Page,
        (303, Some("/dashboard/login")) => Answer::ToLogin,
        (303, Some(to))
            if to.starts_with("/dashboard/m/")
                && !to.contains("/webhooks/")
                && !to.ends_with("/developers") =>
        {
            Answer::ToOwn
        }
        (303, _) => Answer::Done,
        (403, _) => Answer::Forbidden,
        (404, _) => Answer::NotFound,
        (status, to) => panic!("unexpected {status} {to:?}: {}", response.text()),
    }
}

#[test]
fn every_route_answers_every_role_as_authorised() {
    use Answer::{Done, Forbidden, NotFound, Page, ToLogin, ToOwn};
    let receiver = HttpStub::start(200, "success");
    // 140 requests as fast as it can: past the limit of 100 a second per address.
    let gateway = Gateway::start(&["--no-rate-limit"]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, ops_csrf) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");
    let mut shops = Vec::new();
    for name in ["Shop A", "Shop B"] {
        let app_id = merchant_made(&mut ops, &ops_csrf, name).app_id;
        let password = user_made(
            &mut ops,
            &ops_csrf,
            &app_id,
            &format!("owner@{app_id}.example"),
        );
        shops.push((app_id, password));
    }
    let (a, b) = (&shops[0], &shops[1]);
    let (mut owner, owner_csrf) = logged_in(
        &gateway,
        &format!("owner@{}.example", a.0),
        &a.1,
        &format!("/dashboard/m/{}", a.0),
    );
    let (mut other, other_csrf) = logged_in(
        &gateway,
        &format!("owner@{}.example", b.0),
        &b.1,
        &format!("/dashboard/m/{}", b.0),
    );
    let mut anonymous = Visitor::new(&gateway);
    // A webhook of shop A for the webhook routes: its test ping is not kept,
    // so a URL set through the CLI and a deposit make one.
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &a.0,
        "--url",
        &receiver.url,
    ]);
    let secret = {
        let rotated = owner.post(
            &format!("/dashboard/m/{}/secret", a.0),
            &[("csrf", &owner_csrf)],
        );
        shown(&rotated, "App secret")
    };
    let shop = Merchant {
        app_id: a.0.clone(),
        app_secret: secret,
    };
    let to = eventually(10, "the new secret in force", || {
        let answer = gateway.post_signed(
            &shop,
            "/ccpayment/v1/payment/address/get",
            br#"{"user_id":"user-1","chain":"ETH"}"#,
            None,
        );
        answer.json()["data"]["address"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| answer.text().to_owned())
    });
    pay_confirmed(&gateway, &to, "1");
    receiver.wait_for_requests(1);
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"order-1"}}"#
    );
    let made = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
    assert_eq!(made.json()["code"], 10000, "{}", made.text());
    let listed: serde_json::Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json"])).unwrap();
    let webhook_id = listed[0]["id"].as_i64().unwrap();
    // A withdrawal of shop A for its page (decisions §31).
    gateway.adjust(&shop, "USDT", "3", &[]);
    let payee: serde_json::Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "payee",
        "--json",
    ]))
    .unwrap();
    let c_id = payee["c_id"].as_str().unwrap().to_owned();
    let body = serde_json::json!({
        "token_id": USDT_ERC20, "address": c_id, "value": "1", "merchant_order_id": "w-1",
    });
    let paid = gateway.post_signed(
        &shop,
        "/ccpayment/v1/withdraw",
        body.to_string().as_bytes(),
        None,
    );
    let record_id = paid.json()["data"]["record_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", paid.text()))
        .to_owned();

    let m = format!("/dashboard/m/{}", a.0);
    let hook = format!("{m}/webhooks/{webhook_id}");
    let owner_id = user_id_of(&mut ops, &format!("owner@{}.example", a.0));
    // A third user of shop A whose role the operator changes (decisions §40).
    let spare = ops.post(
        &format!("{m}/users"),
        &[("csrf", &ops_csrf), ("email", "spare@a.example")],
    );
    assert_eq!(spare.status, 200, "{}", spare.text());
    let spare_id = user_id_of(&mut ops, "spare@a.example");
    let spare_role = format!("merchant:{}", b.0);
    // An invoice of shop A for its page's route (decisions §32).
    let invoice_fields = vec![
        ("amount", "5"),
        ("currency", "USD"),
        ("product", "lesson"),
        ("valid_hours", "24"),
    ];
    let mut made_invoice = vec![("csrf", owner_csrf.as_str()), ("reference", "inv-table")];
    made_invoice.extend(invoice_fields.iter().copied());
    let made_invoice = owner.post(&format!("{m}/invoices"), &made_invoice);
    assert_eq!(
        made_invoice.header("location"),
        Some(format!("{m}/invoices/inv-table").as_str()),
        "{}",
        made_invoice.text()
    );
    // Route, form fields besides the CSRF token, and the answer of:
    // anonymous, the other merchant's user, the merchant's user, an operator.
    let table: Vec<Route> = vec![
        (
            "GET",
            "/dashboard".into(),
            vec![],
            [ToLogin, ToOwn, ToOwn, Page],
        ),
        (
            "GET",
            "/dashboard/audit".into(),
            vec![],
            [ToLogin, Forbidden, Forbidden, Page],
        ),
        ("GET", m.clone(), vec![], [ToLogin, NotFound, Page, Page]),
        (
            "GET",
            format!("{m}/developers"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        ("GET", hook.clone(), vec![], [ToLogin, NotFound, Page, Page]),
        (
            "GET",
            format!("{m}/orders"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/orders/order-1"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/export?kind=orders&from=2026-01-01&to=2026-12-31"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}?days=90"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/invoices"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/invoices/inv-table"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        // A new invoice: its page is the answer's redirect.
        (
            "POST",
            format!("{m}/invoices"),
            invoice_fields.clone(),
            [ToLogin, NotFound, ToOwn, ToOwn],
        ),
        (
            "POST",
            "/dashboard/merchants".into(),
            vec![("name", "new")],
            [ToLogin, Forbidden, Forbidden, Page],
        ),
        (
            "POST",
            format!("{m}/users"),
            vec![("email", "x@y.example")],
            [ToLogin, NotFound, Forbidden, Page],
        ),
        (
            "POST",
            format!("{m}/webhook"),
            vec![("url", receiver.url.as_str())],
            [ToLogin, NotFound, Done, Done],
        ),
        (
            "POST",
            format!("{m}/status"),
            vec![("status", "active")],
            [ToLogin, Forbidden, Forbidden, ToOwn],
        ),
        (
            "POST",
            format!("{m}/allowlist"),
            vec![("allowlist", "")],
            [ToLogin, NotFound, Done, Done],
        ),
        (
            "POST",
            format!("{m}/webhook/test"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "POST",
            format!("{m}/secret"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "POST",
            format!("{hook}/resend"),
            vec![],
            [ToLogin, NotFound, Done, Done],
        ),
        // Each user's own settings (decisions §31): its second factor.
        (
            "GET",
            "/dashboard/settings".into(),
            vec![],
            [ToLogin, Page, Page, Page],
        ),
        (
            "POST",
            "/dashboard/settings/totp".into(),
            vec![],
            [ToLogin, Page, Page, Page],
        ),
        (
            "POST",
            "/dashboard/settings/totp/confirm".into(),
            vec![("code", "abcdef")],
            [ToLogin, Forbidden, Forbidden, Forbidden],
        ),
        (
            "POST",
            "/dashboard/settings/totp/remove".into(),
            vec![("code", "")],
            [ToLogin, Done, Done, Done],
        ),
        (
            "GET",
            format!("{m}/withdrawals"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/withdrawals/new"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/withdrawals/{record_id}"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "POST",
            format!("{m}/withdrawals/quote"),
            vec![
                ("token_id", USDT_ERC20),
                ("to", "cwallet"),
                ("destination", c_id.as_str()),
                ("amount", "1"),
            ],
            [ToLogin, NotFound, Page, Page],
        ),
        // Without a second factor in force, money does not leave.
        (
            "POST",
            format!("{m}/withdrawals"),
            vec![
                ("merchant_order_id", "console-table"),
                ("token_id", USDT_ERC20),
                ("to", "cwallet"),
                ("destination", c_id.as_str()),
                ("amount", "1"),
                ("code", "123456"),
            ],
            [ToLogin, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{m}/orders/order-1/refund"),
            vec![
                ("address", "0x1111111111111111111111111111111111111111"),
                ("amount", "1"),
                ("code", "123456"),
            ],
            [ToLogin, NotFound, Forbidden, Forbidden],
        ),
        (
            "GET",
            format!("{m}/addresses?user_id=user-1"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        (
            "GET",
            format!("{m}/export?kind=journal&from=2026-01-01&to=2026-12-31"),
            vec![],
            [ToLogin, NotFound, Page, Page],
        ),
        // The operator's say over fees and users (decisions §34).
        (
            "POST",
            format!("{m}/fee"),
            vec![("percent", "0.03")],
            [ToLogin, Forbidden, Forbidden, ToOwn],
        ),
        (
            "GET",
            "/dashboard/users".into(),
            vec![],
            [ToLogin, Forbidden, Forbidden, Page],
        ),
        // Enabling the merchant's own user, who stays logged in.
        (
            "POST",
            format!("/dashboard/users/{owner_id}/status"),
            vec![("status", "active")],
            [ToLogin, Forbidden, Forbidden, Done],
        ),
        // Changing a user's role (decisions §40): the spare user moves to
        // shop B.
        (
            "POST",
            format!("/dashboard/users/{spare_id}/role"),
            vec![("role", spare_role.as_str())],
            [ToLogin, Forbidden, Forbidden, Done],
        ),
    ];
    let mut checked = 0;
    for (method, path, fields, expected) in &table {
        let visitors: [(&mut Visitor, &str); 4] = [
            (&mut anonymous, "none"),
            (&mut other, &other_csrf),
            (&mut owner, &owner_csrf),
            (&mut ops, &ops_csrf),
        ];
        for (role, ((visitor, csrf), want)) in visitors.into_iter().zip(expected).enumerate() {
            let response = if *method == "GET" {
                visitor.get(path)
            } else {
                let mut all = vec![("csrf", csrf)];
                all.extend(fields.iter().copied());
                visitor.post(path, &all)
            };
            assert_eq!(
                answer_of(&response),
                *want,
                "{method} {path} as role {role}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 144);
    // The other merchant's user changed nothing of shop A: no user of its
    // making, no merchant named "new" but the operator's.
    let overview = ops.get(&m).text().to_owned();
    assert_eq!(overview.matches("x@y.example").count(), 1, "{overview}");
}

/// Where the browser test keeps its screenshots: `CCGATE_SCREENSHOTS_DIR`,
/// or `dashboard-screenshots` in the test's target directory.
pub fn screenshots_dir() -> std::path::PathBuf {
    std::env::var_os("CCGATE_SCREENSHOTS_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots"),
        std::path::PathBuf::from,
    )
}

#[test]
fn an_operator_and_a_merchant_user_use_the_dashboard_in_a_real_browser() {
    let browser_dir = crate::checkout::browser_ready();
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).unwrap();
    let pages = [
        "login",
        "merchants",
        "merchant-created",
        "overview",
        "audit",
        "orders",
        "developers",
        "test-webhook",
    ];
    let shots: Vec<std::path::PathBuf> = pages
        .iter()
        .flat_map(|page| {
            ["desktop", "phone"]
                .map(|size| screenshots.join(format!("dashboard-{page}-{size}.png")))
        })
        .collect();
    for shot in &shots {
        // A stale picture from an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(shot);
    }
    let output = std::process::Command::new("node")
        .arg(browser_dir.join("dashboard.mjs"))
        .arg(format!("http://{}", gateway.address()))
        .arg("ops@example.com")
        .arg(&password)
        .arg(&receiver.url)
        .arg(&screenshots)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(size > 1_000, "{} is {size} bytes", shot.display());
    }
    eprintln!("screenshots kept in {}", screenshots.display());
    // The browser's test webhook reached the receiver, signed as every webhook.
    let pinged = receiver.wait_for_requests(1);
    assert!(String::from_utf8_lossy(&pinged[0].body).contains(result["appId"].as_str().unwrap()));
    // The allowlist the merchant user saved in the browser refuses the
    // merchant's own API call from this (another) address.
    let merchant = Merchant {
        app_id: result["appId"].as_str().unwrap().to_owned(),
        app_secret: result["appSecret"].as_str().unwrap().to_owned(),
    };
    let refused = gateway
        .post_signed(&merchant, "/ccpayment/v1/coin/all", b"{}", None)
        .json();
    assert_eq!(refused["code"], 220002, "{refused}");
}

/// An RFC 4180 reader, independent of the server's writer: records of
/// fields, quoted fields unquoted and their doubled quotes undone.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "a bare CR in {text:?}");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a bare LF in {text:?}"),
            (false, _) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "no CRLF at the end of {text:?}"
    );
    records
}

/// The rows of a CSV as maps from its header's names.
pub fn csv_rows(download: &HttpResponse) -> Vec<BTreeMap<String, String>> {
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(
        download.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let mut records = parse_csv(download.text()).into_iter();
    let header = records.next().expect("a header line");
    records
        .map(|record| {
            assert_eq!(record.len(), header.len(), "{record:?}");
            header.iter().cloned().zip(record).collect()
        })
        .collect()
}

#[test]
fn csv_rows_parse_back_to_what_was_written() {
    assert_eq!(
        parse_csv("a,\"b,\"\"c\"\"\r\nd\",\r\n"),
        vec![vec![
            "a".to_owned(),
            "b,\"c\"\r\nd".to_owned(),
            String::new()
        ]]
    );
}

#[test]
fn orders_deposits_and_withdrawals_download_as_csv_for_a_date_range() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, _) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");
    let m = format!("/dashboard/m/{}", shop.app_id);
    assert!(
        ops.get(&format!("{m}/orders"))
            .text()
            .contains("Export as CSV")
    );

    // An order whose id needs quoting and would be a formula.
    let tricky = "=1+2,\"x\"";
    let body = serde_json::json!({
        "token_id": USDT_ERC20,
        "product_price": "12.345678",
        "denominated_currency": "token",
        "merchant_order_id": tricky,
    });
    let made = gateway.post_signed(
        &shop,
        "/ccpayment/v1/bill/create",
        body.to_string().as_bytes(),
        None,
    );
    assert_eq!(made.json()["code"], 10000, "{}", made.text());
    // A deposit of 1.5 USDT to a permanent address.
    let to = permanent_address(&gateway, &shop, "user-1");
    pay_confirmed(&gateway, &to, "1.5");
    // A Cwallet withdrawal down to the coin's smallest unit.
    gateway.adjust(&shop, "USDT", "3", &[]);
    let payee: serde_json::Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "payee",
        "--json",
    ]))
    .unwrap();
    let body = serde_json::json!({
        "token_id": USDT_ERC20,
        "address": payee["c_id"],
        "value": "1.000001",
        "merchant_order_id": "w-1",
    });
    let paid = gateway.post_signed(
        &shop,
        "/ccpayment/v1/withdraw",
        body.to_string().as_bytes(),
        None,
    );
    assert_eq!(paid.json()["code"], 10000, "{}", paid.text());

    let today = time::OffsetDateTime::now_utc().date();
    let (yesterday, tomorrow) = (today.previous_day().unwrap(), today.next_day().unwrap());
    let export = |kind: &str, from: time::Date, to: time::Date| {
        format!("{m}/export?kind={kind}&from={from}&to={to}")
    };

    let orders = ops.get(&export("orders", yesterday, today));
    let disposition = orders.header("content-disposition").unwrap().to_owned();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"orders-{}-{yesterday}-{today}.csv\"",
            shop.app_id
        )
    );
    let orders = csv_rows(&orders);
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["merchant_order_id"], format!("'{tricky}"));
    assert_eq!(orders[0]["amount"], "12.345678");
    assert_eq!(orders[0]["paid"], "0");
    assert_eq!(orders[0]["coin"], "USDT");
    assert_eq!(orders[0]["chain"], "ETH");
    assert_eq!(orders[0]["state"], "Pending");

    let deposits = eventually(20, "the deposit credited", || {
        let rows = csv_rows(&ops.get(&export("deposits", today, today)));
        if rows.is_empty() {
            Err("none yet".to_owned())
        } else {
            Ok(rows)
        }
    });
    assert_eq!(deposits.len(), 1, "{deposits:?}");
    assert_eq!(deposits[0]["amount"], "1.5");
    assert_eq!(deposits[0]["to_address"], to);
    assert_eq!(deposits[0]["user_id"], "user-1");
    assert_eq!(deposits[0]["coin"], "USDT");

    let withdrawals = csv_rows(&ops.get(&export("withdrawals", today, today)));
    assert_eq!(withdrawals.len(), 1, "{withdrawals:?}");
    assert_eq!(withdrawals[0]["merchant_order_id"], "w-1");
    assert_eq!(withdrawals[0]["amount"], "1.000001");

    // A range without them: a header and no rows.
    for kind in ["orders", "deposits", "withdrawals"] {
        let download = ops.get(&export(kind, tomorrow, tomorrow));
        assert_eq!(parse_csv(download.text()).len(), 1, "{kind}");
    }
    // What the form cannot send is refused, and says why.
    let bad = ops.get(&format!("{m}/export?kind=ledger&from={today}&to={today}"));
    assert_eq!(bad.status, 400);
    assert!(
        bad.text()
            .contains("orders, deposits, withdrawals, journal")
    );
    let bad = ops.get(&format!(
        "{m}/export?kind=orders&from=06/12/2026&to={today}"
    ));
    assert_eq!(bad.status, 400);
    let backwards = ops.get(&export("orders", today, yesterday));
    assert_eq!(backwards.status, 400);
    assert!(backwards.text().contains("ends before it starts"));
}

#[test]
fn an_api_allowlist_refuses_calls_from_other_addresses_in_both_dialects() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let developers = format!("/dashboard/m/{}/developers", shop.app_id);
    let (mut ops, csrf) = logged_in(&gateway, "ops@example.com", &password, &developers);
    let allowlist = format!("/dashboard/m/{}/allowlist", shop.app_id);
    let v1 = |gateway: &Gateway| {
        gateway
            .post_signed(&shop, "/ccpayment/v1/coin/all", b"{}", None)
            .json()
    };
    let v2 = |gateway: &Gateway| gateway.post_v2(&shop, "getCoinList", b"{}").json();
    assert_eq!(v1(&gateway)["code"], 10000, "empty admits any");
    assert_eq!(v2(&gateway)["code"], 10000, "empty admits any");

    // What is no address refuses the whole list, and says which entry.
    let typo = ops.post(
        &allowlist,
        &[("csrf", &csrf), ("allowlist", "127.0.0.1 localhost")],
    );
    assert_eq!(typo.status, 400);
    assert!(typo.text().contains("localhost"), "{}", typo.text());
    assert_eq!(v1(&gateway)["code"], 10000, "unchanged");

    // Another address only: the tests' calls (from 127.0.0.1) are refused.
    let saved = ops.post(
        &allowlist,
        &[("csrf", &csrf), ("allowlist", "203.0.113.7, 2001:db8::/32")],
    );
    assert_eq!(saved.status, 303, "{}", saved.text());
    assert!(
        ops.get(&developers)
            .text()
            .contains("value=\"203.0.113.7/32 2001:db8::/32\"")
    );
    let refused = v1(&gateway);
    assert_eq!(refused["code"], 220002, "{refused}");
    let message = refused["msg"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.1") && message.contains("allowlist"),
        "{message}"
    );
    let refused = v2(&gateway);
    assert_eq!(refused["code"], 12002, "{refused}");
    assert!(
        refused["msg"].as_str().unwrap().contains("127.0.0.1"),
        "{refused}"
    );

    // A range with the tests' address: admitted again.
    let saved = ops.post(
        &allowlist,
        &[("csrf", &csrf), ("allowlist", "203.0.113.7 127.0.0.0/8")],
    );
    assert_eq!(saved.status, 303);
    assert_eq!(v1(&gateway)["code"], 10000);
    assert_eq!(v2(&gateway)["code"], 10000);
    let audit = ops.get("/dashboard/audit").text().to_owned();
    assert!(audit.contains("API allowlist set"), "{audit}");
}

#[test]
fn operators_disable_and_enable_a_merchant_and_its_api_calls_follow() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let overview = format!("/dashboard/m/{}", shop.app_id);
    let (mut ops, csrf) = logged_in(&gateway, "ops@example.com", &password, &overview);
    let status = format!("{overview}/status");
    let v1 = |gateway: &Gateway| {
        gateway
            .post_signed(&shop, "/ccpayment/v1/coin/all", b"{}", None)
            .json()
    };
    let v2 = |gateway: &Gateway| gateway.post_v2(&shop, "getCoinList", b"{}").json();
    assert_eq!(v1(&gateway)["code"], 10000);

    let off = ops.post(&status, &[("csrf", &csrf), ("status", "disabled")]);
    assert_eq!(off.status, 303, "{}", off.text());
    assert!(ops.get(&overview).text().contains("Enable this merchant"));
    let refused = v1(&gateway);
    assert_eq!(refused["code"], 220002, "{refused}");
    assert!(
        refused["msg"].as_str().unwrap().contains("disabled"),
        "{refused}"
    );
    assert_eq!(v2(&gateway)["code"], 12000);

    let bad = ops.post(&status, &[("csrf", &csrf), ("status", "paused")]);
    assert_eq!(bad.status, 400);
    let on = ops.post(&status, &[("csrf", &csrf), ("status", "active")]);
    assert_eq!(on.status, 303);
    assert!(ops.get(&overview).text().contains("Disable this merchant"));
    assert_eq!(v1(&gateway)["code"], 10000);
    assert_eq!(v2(&gateway)["code"], 10000);
    let audit = ops.get("/dashboard/audit").text().to_owned();
    assert!(
        audit.contains("merchant disabled") && audit.contains("merchant enabled"),
        "{audit}"
    );
}
