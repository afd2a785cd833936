//! The hosted checkout page's HTML, CSS and script, embedded in the binary
//! (no CDN). Everything that comes from a merchant or the database is escaped.

use std::fmt::Write;

use ccgate_engine::domain::{Checkout, Order};
use ccgate_engine::orders::OrderStatus;
use ccgate_ledger::{Amount, Chain, ChainFamily, Precision, Token};
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
.merchant { margin: 0 0 .5rem; font-size: .9rem; opacity: .75; word-break: break-word; }
h1 { font-size: 1.25rem; margin: 0 0 .25rem; word-break: break-word; }
h2 { font-size: 1.05rem; margin: 1rem 0 .5rem; }
.price { font-size: 1.1rem; margin: 0 0 1rem; opacity: .8; }
.networks { display: grid; gap: .5rem; }
.networks button { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: .25rem .75rem; width: 100%; padding: .75rem 1rem; font: inherit; text-align: left; border: 1px solid #d1d5db; border-radius: 8px; background: transparent; color: inherit; cursor: pointer; }
.networks button:hover, .networks button:focus { border-color: var(--accent); outline: none; }
.quote { margin-left: auto; font-variant-numeric: tabular-nums; word-break: break-all; }
.amount { font-size: 1.5rem; font-weight: 700; margin: .25rem 0; word-break: break-all; }
.address { display: block; padding: .5rem; border-radius: 6px; background: rgba(127,127,127,.12); word-break: break-all; font-size: .95rem; }
.warning { margin: .75rem 0; padding: .5rem .75rem; border-left: 4px solid #d97706; background: rgba(217,119,6,.12); border-radius: 4px; font-size: .95rem; }
.notice { margin: .75rem 0; padding: .5rem .75rem; border-left: 4px solid var(--accent); background: rgba(37,99,235,.1); border-radius: 4px; }
.qr { display: flex; justify-content: center; margin: 1rem 0; }
.qr svg { width: 12rem; height: 12rem; background: #fff; padding: .5rem; border-radius: 8px; }
.copy { margin-top: .5rem; padding: .5rem .75rem; font: inherit; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
.status { margin: 1rem 0 .25rem; padding: .75rem; border-radius: 8px; font-weight: 600; background: rgba(37,99,235,.12); }
.status[data-status="Successful"] { background: rgba(22,163,74,.18); }
.status[data-status="Expired"] { background: rgba(220,38,38,.16); }
.confirmations { margin: .5rem 0; }
.confirmations progress { width: 100%; height: .75rem; }
.countdown { margin: .75rem 0 0; font-size: 1.25rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.receipt { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: 1rem 0; }
.receipt dt { opacity: .75; }
.receipt dd { margin: 0; overflow-wrap: anywhere; }
.txid { word-break: break-all; }
.shop { display: inline-block; margin-top: .5rem; padding: .6rem 1rem; border-radius: 6px; background: var(--accent); color: #fff; text-decoration: none; }
.muted { opacity: .75; font-size: .9rem; }
"#;

/// Served at [`SCRIPT_PATH`], for the same reason as [`STYLE`]; `POLL_MS` is
/// filled in by [`script`]. The server renders every state; the script only
/// counts down, shows confirmations as they come, and reloads the page when
/// the state or the amount received changes.
const SCRIPT: &str = r#"
(function () {
  var root = document.getElementById('checkout');
  if (!root) return;
  var statusUrl = root.getAttribute('data-status-url');
  var expiresAt = Number(root.getAttribute('data-expires-at'));
  var shownStatus = root.getAttribute('data-status');
  var shownPaid = root.getAttribute('data-paid');
  var skew = Number(root.getAttribute('data-now')) - Math.floor(Date.now() / 1000);
  var countdown = document.getElementById('countdown');
  var seen = document.getElementById('confirmations-seen');
  var bar = document.getElementById('confirmations-bar');
  var final = shownStatus === 'Successful' || shownStatus === 'Expired';
  function tick() {
    if (!countdown) return;
    var left = expiresAt - (Math.floor(Date.now() / 1000) + skew);
    if (left <= 0) { countdown.textContent = 'Time is up'; return; }
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    countdown.textContent = (h ? h + 'h ' : '') + m + 'm ' + (s < 10 ? '0' : '') + s + 's left';
  }
  function poll() {
    fetch(statusUrl, { cache: 'no-store' }).then(function (r) { return r.json(); })
      .then(function (body) {
        if (!body.status) return;
        if (body.status !== shownStatus || (body.paid_amount || '') !== shownPaid) {
          window.location.reload();
          return;
        }
        if (seen && typeof body.confirmations === 'number') {
          seen.textContent = String(body.confirmations);
          if (bar) bar.value = body.confirmations;
        }
      })
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
  if (final) return;
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

fn header(checkout: &Checkout, merchant_name: &str) -> String {
    format!(
        "<p class=\"merchant\" id=\"merchant\">Payment to {}</p><h1>{}</h1><p class=\"price\">{} {}</p>",
        escape(merchant_name),
        escape(&checkout.product_name),
        escape(&checkout.product_price),
        escape(&checkout.denominated_currency)
    )
}

/// What the payer is told to do about a payment already sent to an order
/// that no longer takes any.
fn contact_merchant(merchant_name: &str, order_id: &str) -> String {
    format!(
        "<p id=\"contact\">If you already sent a payment, contact {} and give them the order id \
         <code id=\"order-id\">{}</code>.</p>",
        escape(merchant_name),
        escape(order_id)
    )
}

/// One coin on one network the payer may pick.
#[derive(Debug)]
pub struct NetworkOption<'a> {
    pub token_id: &'a str,
    pub symbol: &'a str,
    pub chain_code: &'a str,
    pub chain_name: &'a str,
    /// The token standard ("ERC20") of a contract token; `None` for a coin
    /// native to its chain.
    pub standard: Option<&'a str>,
    /// The price in this coin at this moment's rate, for display.
    pub quote: Option<String>,
}

/// Before the payer picks a network.
#[derive(Debug)]
pub struct ChoiceView<'a> {
    pub checkout: &'a Checkout,
    pub merchant_name: &'a str,
    /// The order's id, known from the checkout's creation.
    pub order_id: &'a str,
    pub options: Vec<NetworkOption<'a>>,
    pub expired: bool,
}

fn network_text(chain_name: &str, standard: Option<&str>) -> String {
    match standard {
        Some(standard) => format!("{} ({})", escape(chain_name), escape(standard)),
        None => escape(chain_name),
    }
}

pub fn choose(view: &ChoiceView<'_>) -> String {
    let checkout = view.checkout;
    let mut body = header(checkout, view.merchant_name);
    if view.expired {
        body.push_str(
            "<p class=\"status\" id=\"status\" data-status=\"Expired\">This payment has expired.</p>",
        );
        body.push_str(&contact_merchant(view.merchant_name, view.order_id));
        return document("Payment expired", &body);
    }
    let _ = write!(
        body,
        "<h2>Choose how to pay</h2><form method=\"post\" action=\"/pay/{}/select\" class=\"networks\">",
        escape(&checkout.key)
    );
    for option in &view.options {
        let quote = option.quote.as_deref().map_or_else(String::new, |amount| {
            format!(
                "<span class=\"quote\">{} {}</span>",
                escape(amount),
                escape(option.symbol)
            )
        });
        let _ = write!(
            body,
            "<button type=\"submit\" name=\"token_id\" value=\"{}\" data-symbol=\"{}\" data-chain=\"{}\">\
             <span><strong>{}</strong> <span class=\"muted\">on {}</span></span>{quote}</button>",
            escape(option.token_id),
            escape(option.symbol),
            escape(option.chain_code),
            escape(option.symbol),
            network_text(option.chain_name, option.standard),
        );
    }
    body.push_str(
        "</form><p class=\"muted\">Amounts at this moment's rate; the rate is fixed when you choose.</p>",
    );
    document(&format!("Pay {}", checkout.product_name), &body)
}

/// A credited payment, for the receipt.
#[derive(Debug)]
pub struct Receipt {
    pub amount: String,
    pub txid: String,
    pub explorer_url: Option<String>,
    pub pay_time: i64,
}

/// What the payment page shows once a network is chosen.
#[derive(Debug)]
pub struct PaymentView<'a> {
    pub checkout: &'a Checkout,
    pub merchant_name: &'a str,
    pub order: &'a Order,
    pub symbol: &'a str,
    pub chain_name: &'a str,
    /// The token standard of a contract token; `None` for a native coin.
    pub standard: Option<&'a str>,
    pub status: OrderStatus,
    pub order_amount: String,
    pub paid: String,
    /// What is still due after a part payment, if the order still takes one.
    pub still_due: Option<String>,
    /// What the QR code encodes: a payment URI, or the bare address.
    pub payment_uri: String,
    /// (seen, required) confirmations of a payment still confirming.
    pub confirmations: Option<(u64, u64)>,
    pub receipts: Vec<Receipt>,
    pub now_secs: i64,
}

pub(crate) fn qr_svg(text: &str) -> String {
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

fn status_label(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "Waiting for payment",
        OrderStatus::Processing => "Payment seen, confirming",
        OrderStatus::Successful => "Paid",
        OrderStatus::Expired => "Expired",
    }
}

/// What a payment link (EIP-681, BIP-21, Tron's URI) or a bare address
/// asks a wallet for: `coin_units` of the coin, sent on `chain`.
pub fn payment_uri(
    chain: &Chain,
    token: &Token,
    coin_precision: Precision,
    address: &str,
    coin_units: Amount,
) -> String {
    let decimal = coin_units.to_decimal_string(coin_precision);
    // Wallets count in the network's own units: exact, or no amount at all.
    let Ok(token_units) = Amount::parse_decimal(&decimal, token.precision) else {
        return address.to_owned();
    };
    let native = !chain.is_contract(&token.contract);
    match (chain.family, chain.evm_chain_id, native) {
        (ChainFamily::Evm, Some(id), true) => {
            format!("ethereum:{address}@{id}?value={}", token_units.base_units())
        }
        (ChainFamily::Evm, Some(id), false) => format!(
            "ethereum:{}@{id}/transfer?address={address}&uint256={}",
            token.contract,
            token_units.base_units()
        ),
        (ChainFamily::Bitcoin, _, true) => format!("bitcoin:{address}?amount={decimal}"),
        // TRC-20 tokens have no URI standard: a `tron:` amount would be TRX.
        (ChainFamily::Tron, _, true) => format!("tron:{address}?amount={decimal}"),
        _ => address.to_owned(),
    }
}

pub fn payment(view: &PaymentView<'_>) -> String {
    let key = escape(&view.checkout.key);
    let symbol = escape(view.symbol);
    let network = network_text(view.chain_name, view.standard);
    let status = view.status.as_str();
    let mut body = header(view.checkout, view.merchant_name);
    let _ = write!(
        body,
        "<section id=\"checkout\" data-status-url=\"/pay/{key}/status\" data-expires-at=\"{}\" \
         data-now=\"{}\" data-status=\"{status}\" data-paid=\"{}\">\
         <p class=\"status\" id=\"status\" data-status=\"{status}\">{}</p>",
        view.order.expires_at,
        view.now_secs,
        escape(&view.paid),
        status_label(view.status),
    );
    match view.status {
        OrderStatus::Successful => {
            let _ = write!(
                body,
                "<dl class=\"receipt\" id=\"receipt\"><dt>Amount</dt><dd id=\"paid\">{} {symbol}</dd>\
                 <dt>Network</dt><dd>{network}</dd>",
                escape(&view.paid)
            );
            for receipt in &view.receipts {
                let txid = escape(&receipt.txid);
                let link = receipt.explorer_url.as_deref().map_or_else(
                    || format!("<code class=\"txid\">{txid}</code>"),
                    |url| {
                        format!(
                            "<a class=\"txid\" href=\"{}\" rel=\"noopener noreferrer\">{txid}</a>",
                            escape(url)
                        )
                    },
                );
                let _ = write!(
                    body,
                    "<dt>Paid at</dt><dd>{} UTC ({} {symbol})</dd><dt>Transaction</dt><dd>{link}</dd>",
                    utc(receipt.pay_time),
                    escape(&receipt.amount)
                );
            }
            let _ = write!(
                body,
                "<dt>Order</dt><dd>{}</dd></dl>",
                escape(&view.order.order_id)
            );
        }
        OrderStatus::Expired => {
            body.push_str(
                "<p>This payment has expired: do not send anything to its address any more.</p>",
            );
            if view.paid != "0" {
                let _ = write!(
                    body,
                    "<p id=\"paid\">Received: {} of {} {symbol}.</p>",
                    escape(&view.paid),
                    escape(&view.order_amount)
                );
            }
            body.push_str(&contact_merchant(view.merchant_name, &view.order.order_id));
        }
        OrderStatus::Processing => {
            match view.confirmations {
                Some((seen, required)) => {
                    let _ = write!(
                        body,
                        "<div class=\"confirmations\" id=\"confirmations\"><p><span id=\"confirmations-seen\">{seen}</span> of {required} confirmations</p>\
                         <progress id=\"confirmations-bar\" max=\"{required}\" value=\"{seen}\"></progress></div>"
                    );
                }
                None => body.push_str(
                    "<p class=\"confirmations\" id=\"confirmations\">Waiting for confirmations</p>",
                ),
            }
            let _ = write!(
                body,
                "<p class=\"muted\">Your payment on {network} is on its way; nothing more to send now. \
                 This page updates by itself.</p>"
            );
        }
        OrderStatus::Pending => {
            let due = view.still_due.as_deref().unwrap_or(&view.order_amount);
            if view.still_due.is_some() {
                let _ = write!(
                    body,
                    "<p class=\"notice\" id=\"underpaid\">Received {} of {} {symbol}. \
                     Send the remaining amount to the same address.</p>",
                    escape(&view.paid),
                    escape(&view.order_amount)
                );
            }
            let _ = write!(
                body,
                "<p>Send exactly</p><p class=\"amount\" id=\"amount\">{} {symbol}</p>\
                 <p>on {network} to</p><code class=\"address\" id=\"address\">{}</code>\
                 <button type=\"button\" class=\"copy\" id=\"copy\" hidden>Copy address</button>\
                 <p class=\"warning\" id=\"warning\">Send only {symbol} on {network} to this address. \
                 Other coins, or {symbol} on another network, are lost.</p>\
                 <div class=\"qr\" role=\"img\" aria-label=\"QR code of the payment\" data-uri=\"{}\">{}</div>\
                 <p class=\"countdown\" id=\"countdown\"></p>\
                 <p class=\"muted\" id=\"expiry\">Expires at {} UTC</p>",
                escape(due),
                escape(&view.order.pay_address),
                escape(&view.payment_uri),
                qr_svg(&view.payment_uri),
                utc(view.order.expires_at),
            );
        }
    }
    if let Some(url) = view
        .checkout
        .return_url
        .as_deref()
        .filter(|u| u.starts_with("http"))
        .filter(|_| view.status == OrderStatus::Successful)
    {
        let _ = write!(
            body,
            "<p><a class=\"shop\" id=\"return\" href=\"{}\">Back to the shop</a></p>",
            escape(url)
        );
    }
    if !matches!(view.status, OrderStatus::Successful | OrderStatus::Expired) {
        let _ = write!(
            body,
            "<noscript><p><a href=\"/pay/{key}\">Refresh the status</a></p></noscript>"
        );
    }
    let _ = write!(body, "</section><script src=\"{SCRIPT_PATH}\"></script>");
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
    #![allow(clippy::unwrap_used)]

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
    fn payment_uris_follow_each_chains_standard() {
        let registry = ccgate_ledger::Registry::builtin();
        let uri = |token_id: &str, address: &str, amount: &str| {
            let (coin, token) = registry
                .token(&ccgate_ledger::TokenId::new(token_id))
                .unwrap();
            let chain = registry.chain(token.chain.as_str()).unwrap();
            let units = Amount::parse_decimal(amount, coin.precision).unwrap();
            payment_uri(chain, token, coin.precision, address, units)
        };
        let to = "0xC85107D6E6DE7F8A1dD423d77d139a42cB573829";
        assert_eq!(
            uri("e8f64d3d-df5b-411d-897f-c6d8d30206b7", to, "0.0125"),
            format!("ethereum:{to}@1?value=12500000000000000")
        );
        assert_eq!(
            uri("2728e271-9f5d-4c05-8aa7-4a87b1afcc95", to, "12.5"),
            format!(
                "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address={to}&uint256=12500000"
            )
        );
        // BEP-20 USDT has 18 decimals on BSC.
        assert_eq!(
            uri("5ff9da14-2e1c-40e6-8171-37436ec3c531", to, "1"),
            format!(
                "ethereum:0x55d398326f99059ff775485246999027b3197955@56/transfer?address={to}&uint256=1000000000000000000"
            )
        );
        let btc = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
        assert_eq!(
            uri("f36ad1cf-222a-4933-9ad0-86df8069f916", btc, "0.0005"),
            format!("bitcoin:{btc}?amount=0.0005")
        );
        let tron = "TYWnk1EGALQyYst2yFSd29QQQTEkuKMbyt";
        assert_eq!(
            uri("60dad7f7-6477-4a3f-9915-1cd1f5b68151", tron, "3.5"),
            format!("tron:{tron}?amount=3.5")
        );
        // USDT on Tron: no standard, the bare address.
        assert_eq!(
            uri("0912e09a-d8e2-41d7-a0bc-a25530892988", tron, "3.5"),
            tron
        );
    }

    #[test]
    fn a_paid_page_is_a_receipt_with_escaped_merchant_text() {
        let checkout = Checkout {
            key: "k".into(),
            app_id: ccgate_ledger::MerchantId::new("m"),
            merchant_order_id: "mo".into(),
            fingerprint: String::new(),
            product_price: "15".into(),
            product_name: "<i>Tea</i>".into(),
            return_url: Some("https://shop.example/?a=1&b=\"2\"".into()),
            notify_url: None,
            custom_value: None,
            created_at: 0,
            expires_at: 600,
            order_id: Some("o-1".into()),
            dialect: ccgate_engine::domain::WebhookDialect::V1,
            buyer_email: None,
            denominated_currency: "USD".into(),
            price_coin_id: None,
            invoice: false,
        };
        let order = Order {
            order_id: "o-1".into(),
            app_id: checkout.app_id.clone(),
            merchant_order_id: "mo".into(),
            kind: "hosted".into(),
            fingerprint: String::new(),
            token_id: ccgate_ledger::TokenId::new("t"),
            coin_id: ccgate_ledger::CoinId::new("c"),
            chain: "ETH".into(),
            pay_address: "0xpay".into(),
            product_price: "15".into(),
            product_name: "<i>Tea</i>".into(),
            denominated_currency: "USD".into(),
            fiat_rate: "1".into(),
            token_rate: "1".into(),
            order_amount: Amount::from_base_units(15),
            created_at: 0,
            expires_at: 600,
            notify_url: None,
            custom_value: None,
            remark: None,
            dialect: ccgate_engine::domain::WebhookDialect::V1,
            buyer_email: None,
            invoice: false,
        };
        let view = PaymentView {
            checkout: &checkout,
            merchant_name: "Bob's <shop>",
            order: &order,
            symbol: "USDT",
            chain_name: "Ethereum",
            standard: Some("ERC20"),
            status: OrderStatus::Successful,
            order_amount: "15".into(),
            paid: "15".into(),
            still_due: None,
            payment_uri: "0xpay".into(),
            confirmations: None,
            receipts: vec![Receipt {
                amount: "15".into(),
                txid: "0xab".into(),
                explorer_url: Some("https://etherscan.io/tx/0xab".into()),
                pay_time: 60,
            }],
            now_secs: 100,
        };
        let html = payment(&view);
        assert!(html.contains(
            r#"<a class="txid" href="https://etherscan.io/tx/0xab" rel="noopener noreferrer">0xab</a>"#
        ));
        assert!(html.contains("Payment to Bob&#39;s &lt;shop&gt;"));
        assert!(html.contains("&lt;i&gt;Tea&lt;/i&gt;") && !html.contains("<i>"));
        assert!(html.contains(r#"href="https://shop.example/?a=1&amp;b=&quot;2&quot;""#));
        assert!(!html.contains("0xpay"), "no address on a receipt");
    }

    #[test]
    fn qr_is_an_svg() {
        assert!(qr_svg("0xC85107D6E6DE7F8A1dD423d77d139a42cB573829").starts_with("<svg"));
    }
}
