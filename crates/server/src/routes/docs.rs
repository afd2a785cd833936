//! `GET /openapi.json` and `GET /docs`: the API description, and a page that
//! renders it — signing guide, every endpoint with its examples, every webhook
//! body, the code table — self-contained (no CDN, no script).

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::AppState;
use crate::openapi::{document, examples};

/// Only the page's own inline style may apply: there is no script to run, and
/// nothing it could load.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#222}\
code,pre{background:#f2f2f2;font:13px/1.4 ui-monospace,monospace}code{padding:0 .2rem}\
pre{padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}\
table{border-collapse:collapse}td,th{padding:.2rem .5rem;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}\
h2{margin-top:2.5rem;border-bottom:2px solid #ccc}h3{margin-top:2rem}dt{font-weight:600}";

pub async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(header::X_CONTENT_TYPE_OPTIONS, "nosniff")],
        Json(document(&state.config.public_url)),
    )
        .into_response()
}

/// Text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A whole page of this server's own HTML, with its headers.
pub fn html_page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{PAGE_STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
        ],
        html,
    )
        .into_response()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `'…'` for a POSIX shell: the text literally, whatever it holds.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn anchor(path: &str) -> String {
    path.trim_start_matches('/').replace('/', "-")
}

/// The fields of an object schema: name, type, whether required.
fn field_list(schema: &Value, out: &mut String) {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(fields) = schema["properties"].as_object() else {
        return;
    };
    if fields.is_empty() {
        out.push_str("<p>No fields: send <code>{}</code> or an empty body.</p>");
        return;
    }
    out.push_str("<ul>");
    for (name, field) in fields {
        let kind = match field["type"].as_str() {
            Some("string") if field.get("pattern").is_some() => "decimal string",
            Some("array") => "array",
            Some(kind) => kind,
            None => "value",
        };
        let flag = if required.contains(&name.as_str()) {
            " (required)"
        } else {
            ""
        };
        let _ = write!(out, "<li><code>{}</code>: {kind}{flag}</li>", escape(name));
    }
    out.push_str("</ul>");
}

fn signing_section(doc: &Value, out: &mut String) {
    let signature = &doc["x-signature"];
    let _ = write!(
        out,
        "<section id=\"signing\"><h2>Signing</h2><p><code>{}</code></p><ul>",
        escape(text(&signature["formula"]))
    );
    for rule in signature["rules"].as_array().into_iter().flatten() {
        let _ = write!(out, "<li>{}</li>", escape(text(rule)));
    }
    out.push_str("</ul><p>Worked through (the credentials are the spec's test vectors; each Sign is computed by this server's own signing code as the page is rendered):</p>");
    for (index, example) in signature["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = |name: &str| escape(text(&example[name]));
        let body = text(&example["body"]);
        let body_shown = if body.is_empty() {
            "(empty: zero bytes)".to_owned()
        } else {
            escape(body)
        };
        let _ = write!(
            out,
            "<h3>{title}</h3><dl>\
<dt>Appid</dt><dd><code id=\"sign-{index}-app-id\">{app_id}</code></dd>\
<dt>AppSecret</dt><dd><code id=\"sign-{index}-app-secret\">{secret}</code></dd>\
<dt>Timestamp</dt><dd><code id=\"sign-{index}-timestamp\">{timestamp}</code></dd>\
<dt>Body</dt><dd><pre id=\"sign-{index}-body\">{body}</pre></dd>\
<dt>The bytes hashed (Appid + AppSecret + Timestamp + body)</dt><dd><pre>{signed}</pre></dd>\
<dt>Sign</dt><dd><code id=\"sign-{index}-sign\">{sign}</code></dd>\
<dt>In a shell</dt><dd><pre>printf &#39;%s&#39; {shell} | sha256sum\n{sign}  -</pre></dd></dl>",
            title = field("title"),
            app_id = field("app_id"),
            secret = field("app_secret"),
            timestamp = field("timestamp"),
            body = body_shown,
            signed = field("signed_text"),
            sign = field("sign"),
            shell = escape(&shell_quote(text(&example["signed_text"]))),
        );
    }
    let base = doc["servers"][0]["url"].as_str().unwrap_or_default();
    let _ = write!(
        out,
        "<h3>A signed call from a shell</h3><p><code>printf &#39;%s&#39;</code>, not <code>echo</code> (which adds a newline), and <code>--data-binary</code>, so the bytes sent are the bytes signed.</p><pre>APPID=&#39;your Appid&#39;\nSECRET=&#39;your AppSecret&#39;\nBODY=&#39;{{\"coin_id\":\"8e5741cf-6e51-4892-9d04-3d40e1dd0128\"}}&#39;\nTS=$(date +%s)\nSIGN=$(printf &#39;%s&#39; \"$APPID$SECRET$TS$BODY\" | sha256sum | cut -d&#39; &#39; -f1)\ncurl -sS -X POST {} \\\n  -H \"Appid: $APPID\" -H \"Timestamp: $TS\" -H \"Sign: $SIGN\" \\\n  -H &#39;Content-Type: application/json&#39; --data-binary \"$BODY\"</pre></section>",
        escape(&shell_quote(&format!(
            "{}/ccpayment/v1/assets",
            base.trim_end_matches('/')
        )))
    );
}

fn endpoint_section(path: &str, post: &Value, out: &mut String) {
    let _ = write!(
        out,
        "<h3 id=\"{}\"><code>POST {}</code></h3><p>{}</p>",
        escape(&anchor(path)),
        escape(path),
        escape(text(&post["summary"]))
    );
    let request = &post["requestBody"]["content"]["application/json"];
    field_list(&request["schema"], out);
    let answers = &post["responses"]["200"]["content"]["application/json"]["examples"];
    let requests = &request["examples"];
    let _ = write!(
        out,
        "<p>Request:</p><pre>{}</pre><p>Answer:</p><pre>{}</pre><p>An error — {}:</p><pre>{}</pre><pre>{}</pre>",
        escape(&pretty(&requests["success"]["value"])),
        escape(&pretty(&answers["success"]["value"])),
        escape(text(&requests["error"]["summary"])),
        escape(&pretty(&requests["error"]["value"])),
        escape(&pretty(&answers["error"]["value"])),
    );
}

fn webhooks_section(doc: &Value, out: &mut String) {
    out.push_str("<section id=\"webhooks\"><h2>Webhooks</h2><p>POSTed to the order's or address's <code>notify_url</code>, else the merchant's webhook URL, with <code>Content-Type: application/json</code> and the Appid, Timestamp and Sign headers signed over the raw body (see <a href=\"#signing\">Signing</a>). Answer HTTP 200 with a body containing <code>success</code>; anything else is retried, so handle each <code>record_id</code> once. A payment to an invoice made on the dashboard is sent as CCPayment's <code>Invoice</code> webhook (<code>order_type</code> <code>\"Invoice\"</code>) to v1 merchants, and as <code>ApiDeposit</code> to v2 merchants.</p>");
    for webhook in examples::webhooks() {
        let post = &doc["webhooks"][webhook.key]["post"];
        let _ = write!(
            out,
            "<h3 id=\"webhook-{}\">{}</h3><p>{}</p>",
            escape(webhook.key),
            escape(webhook.order_type),
            escape(text(&post["description"]))
        );
        field_list(
            &post["requestBody"]["content"]["application/json"]["schema"],
            out,
        );
        let _ = write!(
            out,
            "<p>Example body, byte for byte as sent:</p><pre>{}</pre>",
            escape(&webhook.text)
        );
    }
    out.push_str("</section>");
}

fn codes_section(doc: &Value, out: &mut String) {
    out.push_str("<section id=\"codes\"><h2>Codes</h2><p>Every answer is the envelope <code>{\"code\":…,\"msg\":…}</code>: <code>data</code> with 10000, <code>reason</code> with any other. Most errors travel with HTTP 200, as CCPayment's SDKs expect; branch on <code>code</code>.</p><table><tr><th>code</th><th>reason</th><th>HTTP</th><th>message</th><th>what to do</th></tr>");
    for code in doc["x-error-codes"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<tr id=\"code-{0}\"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
            code["code"],
            escape(text(&code["reason"])),
            code["http_status"],
            escape(text(&code["msg"])),
            escape(text(&code["remedy"]))
        );
    }
    out.push_str("</table></section>");
}

/// A path of the document and its item.
type Path<'a> = (&'a String, &'a Value);

/// The v2 dialect: its signature worked through, its endpoints, its codes.
fn v2_section(doc: &Value, v2_paths: &[Path], out: &mut String) {
    let signature = &doc["x-v2-signature"];
    let _ = write!(
        out,
        "<section id=\"v2\"><h2>The v2 dialect</h2><p>The same merchants, Appids, secrets, balances, orders and webhooks outbox as v1, at <code>POST /ccpayment/v2/&lt;name&gt;</code>. Answers are HTTP 200 with <code>{{\"code\",\"msg\",\"data\"}}</code>, unsigned.</p><h3 id=\"v2-signing\">Signing</h3><p><code>{}</code></p><ul>",
        escape(text(&signature["formula"]))
    );
    for rule in signature["rules"].as_array().into_iter().flatten() {
        let _ = write!(out, "<li>{}</li>", escape(text(rule)));
    }
    out.push_str("</ul>");
    for (index, example) in signature["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = |name: &str| escape(text(&example[name]));
        let _ = write!(
            out,
            "<h4>{title}</h4><dl>\
<dt>Appid</dt><dd><code id=\"v2-sign-{index}-app-id\">{app_id}</code></dd>\
<dt>AppSecret (the key)</dt><dd><code id=\"v2-sign-{index}-app-secret\">{secret}</code></dd>\
<dt>Timestamp</dt><dd><code id=\"v2-sign-{index}-timestamp\">{timestamp}</code></dd>\
<dt>The message (Appid + Timestamp + body)</dt><dd><pre id=\"v2-sign-{index}-message\">{signed}</pre></dd>\
<dt>Sign</dt><dd><code id=\"v2-sign-{index}-sign\">{sign}</code></dd>\
<dt>In a shell</dt><dd><pre>printf &#39;%s&#39; {shell} | openssl dgst -sha256 -hmac {key} -r\n{sign} *stdin</pre></dd></dl>",
            title = field("title"),
            app_id = field("app_id"),
            secret = field("app_secret"),
            timestamp = field("timestamp"),
            signed = field("signed_text"),
            sign = field("sign"),
            shell = escape(&shell_quote(text(&example["signed_text"]))),
            key = escape(&shell_quote(text(&example["app_secret"]))),
        );
    }
    out.push_str("<h3 id=\"v2-endpoints\">Endpoints</h3>");
    for (path, item) in v2_paths {
        endpoint_section(path, &item["post"], out);
    }
    out.push_str("<h3 id=\"v2-codes\">Codes</h3><table><tr><th>code</th><th>reason</th><th>default message</th></tr>");
    for code in doc["x-v2-error-codes"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<tr id=\"v2-code-{0}\"><td>{0}</td><td>{1}</td><td>{2}</td></tr>",
            code["code"],
            escape(text(&code["reason"])),
            escape(text(&code["msg"]))
        );
    }
    out.push_str("</table></section>");
}

/// The whole description as one page with a table of contents.
pub async fn docs_page(State(state): State<AppState>) -> Response {
    let doc = document(&state.config.public_url);
    let all_paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let (paths, v2_paths): (Vec<Path>, Vec<Path>) = all_paths
        .iter()
        .partition(|(path, _)| path.starts_with("/ccpayment/v1/"));
    let mut body = format!(
        "<h1>ccgate — CCPayment API, v1 and v2</h1><p>{} Every v1 endpoint is <code>POST {}/ccpayment/v1/…</code>; the v2 dialect has <a href=\"#v2\">its own section</a>. Machine-readable, with the same examples: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1).</p>",
        escape(text(&doc["info"]["description"])),
        escape(state.config.public_url.trim_end_matches('/'))
    );
    body.push_str("<nav><h2>Contents</h2><ol><li><a href=\"#signing\">Signing</a></li><li><a href=\"#endpoints\">Endpoints</a><ol>");
    for (path, _) in &paths {
        let _ = write!(
            body,
            "<li><a href=\"#{}\"><code>{}</code></a></li>",
            escape(&anchor(path)),
            escape(path.trim_start_matches("/ccpayment/v1/"))
        );
    }
    body.push_str("</ol></li><li><a href=\"#webhooks\">Webhooks</a><ol>");
    for webhook in examples::webhooks() {
        let _ = write!(
            body,
            "<li><a href=\"#webhook-{}\">{}</a></li>",
            escape(webhook.key),
            escape(webhook.order_type)
        );
    }
    body.push_str("</ol></li><li><a href=\"#codes\">Codes</a></li><li><a href=\"#v2\">The v2 dialect</a><ol><li><a href=\"#v2-signing\">Signing</a></li><li><a href=\"#v2-endpoints\">Endpoints</a><ol>");
    for (path, _) in &v2_paths {
        let _ = write!(
            body,
            "<li><a href=\"#{}\"><code>{}</code></a></li>",
            escape(&anchor(path)),
            escape(path.trim_start_matches("/ccpayment/v2/"))
        );
    }
    body.push_str("</ol></li><li><a href=\"#v2-codes\">Codes</a></li></ol></li></ol></nav>");
    signing_section(&doc, &mut body);
    body.push_str("<section id=\"endpoints\"><h2>Endpoints</h2><p>Examples are answers of a gateway with the built-in coins; ids, addresses and heights differ on yours. A test sends every example request to the real server and checks the answer has the example's fields and code. Examples show keys sorted; on the wire each object's keys come in a fixed order, CCPayment's.</p>");
    for (path, item) in &paths {
        endpoint_section(path, &item["post"], &mut body);
    }
    body.push_str("</section>");
    webhooks_section(&doc, &mut body);
    codes_section(&doc, &mut body);
    v2_section(&doc, &v2_paths, &mut body);
    html_page("ccgate API", &body)
}
