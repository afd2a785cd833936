//! The leniencies every endpoint shares (decisions §1): an empty body is `{}`,
//! optional fields are "not provided" when absent, `null`, `""` or `0`, legacy
//! names are aliases, unknown fields are ignored.

use serde_json::{Map, Value};

use crate::RequestError;

/// Longest URL a merchant may give the gateway to call or to send a payer to;
/// endpoints may bound theirs tighter.
pub const MERCHANT_URL_CHARS_MAX: usize = 2048;

/// A URL a merchant gives the gateway (a `notify_url`, a `return_url`, the
/// webhook URL): `http` or `https`, parseable, with a host, at most
/// [`MERCHANT_URL_CHARS_MAX`] characters. Anything else (`javascript:`, `ftp:`,
/// `file:`) would be stored and only fail, or do harm, when it is used.
pub fn check_merchant_url(field: &'static str, text: &str) -> Result<(), RequestError> {
    if text.chars().count() > MERCHANT_URL_CHARS_MAX {
        return Err(RequestError::FieldTooLong {
            field,
            max_chars: MERCHANT_URL_CHARS_MAX,
        });
    }
    match url::Url::parse(text) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|host| !host.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(RequestError::NotAnHttpUrl { field }),
    }
}

/// The top-level fields of a request body, parsed once from the raw bytes that
/// were signed.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// The raw value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn parse(body: &[u8]) -> Result<Fields, RequestError> {
        let text = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        if text.trim().is_empty() {
            return Ok(Fields::default());
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(other) => Err(RequestError::InvalidJson(format!(
                "found {}",
                json_kind(&other)
            ))),
            // serde_json's syntax errors name a line and column, never the input.
            Err(err) => Err(RequestError::InvalidJson(err.to_string())),
        }
    }

    /// An optional merchant URL (see [`check_merchant_url`]) under `name`.
    pub fn optional_url(&self, name: &'static str) -> Result<Option<&str>, RequestError> {
        let url = self.optional_str(&[name])?;
        if let Some(text) = url {
            check_merchant_url(name, text)?;
        }
        Ok(url)
    }

    /// Like [`Fields::optional_str`], but absence is an error naming the field.
    pub fn required_str(&self, names: &[&'static str]) -> Result<&str, RequestError> {
        self.optional_str(names)?
            .ok_or(RequestError::MissingField { field: names[0] })
    }

    /// The first of `names` that is provided, as a string. `names[0]` is the
    /// current name and the rest are legacy aliases; a value of the wrong type is
    /// an error naming the current field.
    pub fn optional_str(&self, names: &[&'static str]) -> Result<Option<&str>, RequestError> {
        for name in names {
            match self.0.get(*name) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) if s.is_empty() => continue,
                Some(Value::String(s)) => return Ok(Some(s)),
                Some(Value::Number(n)) if n.as_u64() == Some(0) => continue,
                Some(_) => {
                    return Err(RequestError::FieldType {
                        field: names[0],
                        expected: "a string",
                    });
                }
            }
        }
        Ok(None)
    }
}

impl Fields {
    /// An optional whole number (a JSON number, or digits in a string as some
    /// clients send); `null`, `""` and `0` are "not provided".
    pub fn optional_u64(&self, names: &[&'static str]) -> Result<Option<u64>, RequestError> {
        // Negative numbers land here too: "positive" tells the client which.
        let wrong = RequestError::FieldType {
            field: names[0],
            expected: "a positive whole number",
        };
        for name in names {
            let value = match self.0.get(*name) {
                None | Some(Value::Null) => continue,
                Some(Value::Number(n)) => n.as_u64().ok_or(wrong.clone())?,
                Some(Value::String(s)) if s.is_empty() => continue,
                Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| wrong.clone())?,
                Some(_) => return Err(wrong),
            };
            if value != 0 {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// A required array of strings of at most `max_len` elements.
    pub fn string_list(
        &self,
        name: &'static str,
        max_len: usize,
    ) -> Result<Vec<String>, RequestError> {
        let wrong = RequestError::FieldType {
            field: name,
            expected: "an array of strings",
        };
        match self.0.get(name) {
            None | Some(Value::Null) => Err(RequestError::MissingField { field: name }),
            Some(Value::Array(items)) if items.len() > max_len => Err(RequestError::TooManyItems {
                field: name,
                max_len,
            }),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or(wrong.clone()))
                .collect(),
            Some(_) => Err(wrong),
        }
    }
}

impl Fields {
    /// A required whole number (see [`Fields::optional_u64`]).
    pub fn required_u64(&self, name: &'static str) -> Result<u64, RequestError> {
        self.optional_u64(&[name])?
            .ok_or(RequestError::MissingField { field: name })
    }

    /// An optional boolean; `null` is "not provided", which is `false`.
    pub fn flag(&self, name: &'static str) -> Result<bool, RequestError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(RequestError::FieldType {
                field: name,
                expected: "true or false",
            }),
        }
    }

    /// An optional array of strings of at most `max_len`; absent or `null`
    /// is empty.
    pub fn optional_string_list(
        &self,
        name: &'static str,
        max_len: usize,
    ) -> Result<Vec<String>, RequestError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => self.string_list(name, max_len),
        }
    }

    /// An optional array of whole numbers (each a number or digits in a
    /// string) of at most `max_len`; absent or `null` is empty.
    pub fn number_list(
        &self,
        name: &'static str,
        max_len: usize,
    ) -> Result<Vec<u64>, RequestError> {
        let wrong = RequestError::FieldType {
            field: name,
            expected: "an array of positive whole numbers",
        };
        let items = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(wrong),
        };
        if items.len() > max_len {
            return Err(RequestError::TooManyItems {
                field: name,
                max_len,
            });
        }
        items
            .iter()
            .map(|item| match item {
                Value::Number(n) => n.as_u64().ok_or(wrong.clone()),
                Value::String(s) => s.trim().parse::<u64>().map_err(|_| wrong.clone()),
                _ => Err(wrong.clone()),
            })
            .collect()
    }

    /// An optional array of JSON objects of at most `max_len`, each read as
    /// fields of its own (with the same leniencies); absent or `null` is
    /// empty.
    pub fn object_list(
        &self,
        name: &'static str,
        max_len: usize,
    ) -> Result<Vec<Fields>, RequestError> {
        let wrong = RequestError::FieldType {
            field: name,
            expected: "an array of objects",
        };
        let items = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(wrong),
        };
        if items.len() > max_len {
            return Err(RequestError::TooManyItems {
                field: name,
                max_len,
            });
        }
        items
            .iter()
            .map(|item| match item {
                Value::Object(map) => Ok(Fields(map.clone())),
                _ => Err(wrong.clone()),
            })
            .collect()
    }

    /// A decimal amount as its text: a JSON string, or a whole JSON number
    /// (v2 spec §1.5 asks for leniency to numbers). A number with a fraction
    /// is refused: the JSON parser would hold it as a float, and money never
    /// passes through a float. The caller checks the text against the coin.
    pub fn optional_decimal_text(
        &self,
        name: &'static str,
    ) -> Result<Option<String>, RequestError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
            Some(_) => Err(RequestError::FieldType {
                field: name,
                expected: "a decimal number in a string, such as \"10.5\"",
            }),
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coin_id(body: &str) -> Result<Option<String>, RequestError> {
        let fields = Fields::parse(body.as_bytes())?;
        Ok(fields
            .optional_str(&["coin_id", "token_id"])?
            .map(str::to_owned))
    }

    #[test]
    fn merchant_urls_are_http_with_a_host() {
        for good in [
            "https://shop.example/hook",
            "http://127.0.0.1:9000/hook?x=1",
            "http://[::1]/hook",
            "https://user:pw@shop.example:8443/a",
        ] {
            assert_eq!(check_merchant_url("notify_url", good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x",
            "javascript:alert(1)",
            "not a url",
            "file:///etc/passwd",
            "http://",
            "shop.example/hook",
            "data:text/plain,hi",
        ] {
            assert_eq!(
                check_merchant_url("notify_url", bad),
                Err(RequestError::NotAnHttpUrl {
                    field: "notify_url"
                }),
                "{bad}"
            );
        }
        let long = format!(
            "https://shop.example/{}",
            "a".repeat(MERCHANT_URL_CHARS_MAX)
        );
        assert_eq!(
            check_merchant_url("return_url", &long),
            Err(RequestError::FieldTooLong {
                field: "return_url",
                max_chars: MERCHANT_URL_CHARS_MAX
            })
        );
        let fields =
            Fields::parse(br#"{"notify_url":"ftp://x","return_url":""}"#).unwrap_or_default();
        assert_eq!(
            fields.optional_url("notify_url"),
            Err(RequestError::NotAnHttpUrl {
                field: "notify_url"
            })
        );
        assert_eq!(fields.optional_url("return_url"), Ok(None));
    }

    #[test]
    fn not_provided_forms() {
        for body in [
            "",
            "  \n",
            "{}",
            r#"{"coin_id":null}"#,
            r#"{"coin_id":""}"#,
            r#"{"coin_id":0}"#,
            r#"{"other":[1,2]}"#,
        ] {
            assert_eq!(coin_id(body), Ok(None), "body {body:?}");
        }
    }

    #[test]
    fn aliases_and_precedence() {
        assert_eq!(coin_id(r#"{"token_id":"t"}"#), Ok(Some("t".into())));
        assert_eq!(
            coin_id(r#"{"coin_id":"c","token_id":"t"}"#),
            Ok(Some("c".into()))
        );
        assert_eq!(
            coin_id(r#"{"coin_id":"","token_id":"t"}"#),
            Ok(Some("t".into()))
        );
        assert_eq!(coin_id("{\n\t\"coin_id\": \"c\"\n}"), Ok(Some("c".into())));
    }

    #[test]
    fn refusals() {
        assert!(matches!(coin_id("[]"), Err(RequestError::InvalidJson(_))));
        assert!(matches!(coin_id("nope"), Err(RequestError::InvalidJson(_))));
        assert!(matches!(
            coin_id("\"x\""),
            Err(RequestError::InvalidJson(_))
        ));
        assert_eq!(
            Fields::parse(&[b'{', 0xff, b'}']).err(),
            Some(RequestError::NotUtf8)
        );
        assert_eq!(
            coin_id(r#"{"coin_id":5}"#),
            Err(RequestError::FieldType {
                field: "coin_id",
                expected: "a string"
            })
        );
        assert!(matches!(
            coin_id(r#"{"token_id":{"a":1}}"#),
            Err(RequestError::FieldType {
                field: "coin_id",
                ..
            })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let body = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(coin_id(&body), Err(RequestError::InvalidJson(_))));
    }
}
