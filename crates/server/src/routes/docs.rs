//! `GET /openapi.json` and `GET /docs`: the API description, and a page that
//! renders it without any CDN.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::AppState;
use crate::openapi::document;

pub async fn openapi_json(State(state): State<AppState>) -> Json<Value> {
    Json(document(&state.config.public_url))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Every endpoint with its summary and request fields, and the code table.
pub async fn docs_page(State(state): State<AppState>) -> Response {
    let doc = document(&state.config.public_url);
    let mut body = String::from(
        "<h1>ccgate — CCPayment v1 API</h1><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>.</p>",
    );
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            let post = &item["post"];
            body.push_str(&format!(
                "<h2><code>POST {}</code></h2><p>{}</p><ul>",
                escape(path),
                escape(post["summary"].as_str().unwrap_or_default())
            ));
            let schema = &post["requestBody"]["content"]["application/json"]["schema"];
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(fields) = schema["properties"].as_object() {
                for (name, field) in fields {
                    let kind = field["type"].as_str().unwrap_or("value");
                    let flag = if required.contains(&name.as_str()) {
                        " (required)"
                    } else {
                        ""
                    };
                    body.push_str(&format!(
                        "<li><code>{}</code>: {kind}{flag}</li>",
                        escape(name)
                    ));
                }
            }
            body.push_str("</ul>");
        }
    }
    body.push_str(
        "<h2>Codes</h2><table><tr><th>code</th><th>reason</th><th>HTTP</th><th>message</th></tr>",
    );
    for code in doc["x-error-codes"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            code["code"],
            escape(code["reason"].as_str().unwrap_or("")),
            code["http_status"],
            escape(code["msg"].as_str().unwrap_or(""))
        ));
    }
    body.push_str("</table>");
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>ccgate API</title><style>body{{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem}}code{{background:#eee;padding:0 .2rem}}td,th{{padding:.2rem .5rem;text-align:left}}</style></head><body>{body}</body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}
