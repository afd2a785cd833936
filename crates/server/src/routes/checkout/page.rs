//! The hosted checkout page's HTML, CSS and script, embedded in the binary
//! (no CDN). Everything that comes from a merchant or the database is escaped.

use std::fmt::Write;

use ccgate_ledger::Registry;
use ccgate_store::{Checkout, Order};
use qrcode::QrCode;
use qrcode::render::svg;

/// How often the page asks for the status, in milliseconds.
const STATUS_POLL_MS: u32 = 2_000;

/// Served at [`STYLESHEET_PATH`]: the page carries no inline style, so its
/// Content-Security-Policy needs no `'unsafe-inline'`.
pub const STYLE: &str = r#"
:root { color-scheme: light dark; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f3f4f6; color: #111827; }
@media (prefers-color-scheme: dark) { body { background: #111827; color: #f9fafb; } .card { background: #1f2937 !important; } }
.card { max-width: 28rem; margin: 1rem auto; padding: 1.25rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h1 { font-size: 1.25rem; margin: 0 0 .25rem; word-break: break-word; }
.price { font-size: 1.1rem; margin: 0 0 1rem; opacity: .8; }
.networks { display: grid; gap: .5rem; }
.networks button { width: 100%; padding: .75rem 1rem; font: inherit; text-align: left; border: 1px solid #d1d5db; border-radius: 8px; background: transparent; color: inherit; cursor: pointer; }
.networks button:hover, .networks button:focus { border-color: var(--accent); outline: none; }
.amount { font-size: 1.5rem; font-weight: 700; margin: .25rem 0; word-break: break-all; }
.address { display: block; padding: .5rem; border-radius: 6px; background: rgba(127,127,127,.12); word-break: break-all; font-size: .95rem; }
.qr { display: flex; justify-content: center; margin: 1rem 0; }
.qr svg { width: 12rem; height: 12rem; background: #fff; padding: .5rem; border-radius: 8px; }
.copy { margin-top: .5rem; padding: .5rem .75rem; font: inherit; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
.status { margin: 1rem 0 .25rem; padding: .75rem; border-radius: 8px; font-weight: 600; background: rgba(37,99,235,.12); }
.status[data-status="Successful"] { background: rgba(22,163,74,.18); }
.status[data-status="Expired"] { background: rgba(220,38,38,.16); }
.muted { opacity: .75; font-size: .9rem; }
"#;

/// Served at [`SCRIPT_PATH`], for the same reason as [`STYLE`]; `POLL_MS` is
/// filled in by [`script`].
const SCRIPT: &str = r#"
(function () {
  var root = document.getElementById('checkout');
  if (!root) return;
  var statusUrl = root.getAttribute('data-status-url');
  var expiresAt = Number(root.getAttribute('data-expires-at'));
  var skew = Number(root.getAttribute('data-now')) - Math.floor(Date.now() / 1000);
  var labels = { Pending: 'Waiting for payment', Processing: 'Payment seen, confirming', Successful: 'Paid', Expired: 'Expired' };
  var status = document.getElementById('status');
  var countdown = document.getElementById('countdown');
  var back = document.getElementById('return');
  function show(value) {
    status.setAttribute('data-status', value);
    status.textContent = labels[value] || value;
    if (back && value === 'Successful') back.hidden = false;
    tick();
  }
  function final() { var s = status.getAttribute('data-status'); return s === 'Successful' || s === 'Expired'; }
  function tick() {
    var left = expiresAt - (Math.floor(Date.now() / 1000) + skew);
    if (countdown) {
      if (final() || left <= 0) { countdown.textContent = ''; }
      else {
        var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
        countdown.textContent = (h ? h + 'h ' : '') + m + 'm ' + (s < 10 ? '0' : '') + s + 's left';
      }
    }
  }
  function poll() {
    if (final()) return;
    fetch(statusUrl, { cache: 'no-store' }).then(function (r) { return r.json(); })
      .then(function (body) { if (body.status) show(body.status); })
      .catch(function () {}).then(function () { setTimeout(poll, POLL_MS); });
  }
  var copy = document.getElementById('copy');
  if (copy) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      var text = document.getElementById('address').textContent;
      navigator.clipboard.writeText(text).then(function () { copy.textContent = 'Copied'; });
    });
  }
  show(status.getAttribute('data-status'));
  tick(); setInterval(tick, 1000);
  setTimeout(poll, POLL_MS);
})();
"#;

pub const STYLESHEET_PATH: &str = "/assets/checkout.css";
pub const SCRIPT_PATH: &str = "/assets/checkout.js";

/// The page's script as served.
pub fn script() -> String {
    SCRIPT.replace("POLL_MS", &STATUS_POLL_MS.to_string())
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\"></head><body><main class=\"card\">{body}</main></body></html>",
        escape(title)
    )
}

/// A page with only a message (not found, an error).
pub fn message(title: &str, text: &str) -> String {
    document(
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)),
    )
}

fn header(checkout: &Checkout) -> String {
    format!(
        "<h1>{}</h1><p class=\"price\">{} USD</p>",
        escape(&checkout.product_name),
        escape(&checkout.product_price)
    )
}

/// Before the payer picks a network: every enabled coin and network.
pub fn choose(checkout: &Checkout, registry: &Registry, expired: bool) -> String {
    let mut body = header(checkout);
    if expired {
        body.push_str("<p class=\"status\" data-status=\"Expired\">This payment has expired.</p>");
        return document("Payment expired", &body);
    }
    let _ = write!(
        body,
        "<h2>Choose how to pay</h2><form method=\"post\" action=\"/pay/{}/select\" class=\"networks\">",
        escape(&checkout.key)
    );
    for coin in registry.coins().filter(|c| c.status.code() == 1) {
        for token in coin.tokens.iter().filter(|t| t.status.code() == 1) {
            let chain = registry
                .chain(token.chain.as_str())
                .map_or(token.chain.as_str(), |c| c.name.as_str());
            let _ = write!(
                body,
                "<button type=\"submit\" name=\"token_id\" value=\"{}\" data-symbol=\"{}\" data-chain=\"{}\">\
                 <strong>{}</strong> <span class=\"muted\">{} · {}</span></button>",
                escape(token.id.as_str()),
                escape(&coin.symbol),
                escape(token.chain.as_str()),
                escape(&coin.symbol),
                escape(chain),
                escape(&token.network)
            );
        }
    }
    body.push_str("</form>");
    document(&format!("Pay {}", checkout.product_name), &body)
}

/// What the payment page shows once a network is chosen.
#[derive(Debug)]
pub struct PaymentView<'a> {
    pub checkout: &'a Checkout,
    pub order: &'a Order,
    pub symbol: &'a str,
    pub network: &'a str,
    pub chain_name: &'a str,
    pub amount: String,
    pub status: &'a str,
    pub now_secs: i64,
}

fn qr_svg(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let document = code
                .render::<svg::Color<'_>>()
                .min_dimensions(192, 192)
                .quiet_zone(true)
                .build();
            // Inline in HTML: the `<svg>` element without the XML declaration.
            document
                .find("<svg")
                .map_or_else(String::new, |start| document[start..].to_owned())
        }
        Err(_) => String::new(),
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "Processing" => "Payment seen, confirming",
        "Successful" => "Paid",
        "Expired" => "Expired",
        _ => "Waiting for payment",
    }
}

pub fn payment(view: &PaymentView<'_>) -> String {
    let key = escape(&view.checkout.key);
    let mut body = header(view.checkout);
    let _ = write!(
        body,
        "<section id=\"checkout\" data-status-url=\"/pay/{key}/status\" data-expires-at=\"{}\" data-now=\"{}\">\
         <p>Send exactly</p><p class=\"amount\" id=\"amount\">{} {}</p>\
         <p>on {} ({}) to</p><code class=\"address\" id=\"address\">{}</code>\
         <button type=\"button\" class=\"copy\" id=\"copy\" hidden>Copy address</button>\
         <div class=\"qr\" role=\"img\" aria-label=\"QR code of the address\">{}</div>\
         <p class=\"status\" id=\"status\" data-status=\"{}\">{}</p>\
         <p class=\"muted\">Expires at {} UTC <span id=\"countdown\"></span></p>",
        view.order.expires_at,
        view.now_secs,
        escape(&view.amount),
        escape(view.symbol),
        escape(view.chain_name),
        escape(view.network),
        escape(&view.order.pay_address),
        qr_svg(&view.order.pay_address),
        escape(view.status),
        status_label(view.status),
        utc(view.order.expires_at),
    );
    if let Some(url) = view
        .checkout
        .return_url
        .as_deref()
        .filter(|u| u.starts_with("http"))
    {
        let hidden = if view.status == "Successful" {
            ""
        } else {
            " hidden"
        };
        let _ = write!(
            body,
            "<p><a id=\"return\" href=\"{}\"{hidden}>Back to the shop</a></p>",
            escape(url)
        );
    }
    let _ = write!(
        body,
        "<noscript><p><a href=\"/pay/{key}\">Refresh the status</a></p></noscript></section><script src=\"{SCRIPT_PATH}\"></script>",
    );
    document(&format!("Pay {}", view.checkout.product_name), &body)
}

/// `YYYY-MM-DD HH:MM` (UTC) for a unix time.
fn utc(unix_secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>"a"&'b'</script>"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_677_152_490), "2023-02-23 11:41");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00");
    }

    #[test]
    fn qr_is_an_svg() {
        assert!(qr_svg("0xC85107D6E6DE7F8A1dD423d77d139a42cB573829").starts_with("<svg"));
    }
}
