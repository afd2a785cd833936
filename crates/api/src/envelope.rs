use serde::Serialize;

use crate::Code;

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    code: u32,
    msg: &'static str,
    data: &'a T,
}

#[derive(Serialize)]
struct Failure<'a> {
    code: u32,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// `{"code":10000,"msg":"success","data":…}` in compact canonical JSON: field order
/// fixed by the struct, no whitespace, `/` and non-ASCII unescaped (serde_json's
/// compact writer), so clients that re-serialise the body (the Node SDK) still
/// reproduce the signed bytes.
pub fn success_body<T: Serialize>(data: &T) -> serde_json::Result<Vec<u8>> {
    // Most answers fit: written without growing the buffer three times over.
    let mut body = Vec::with_capacity(ANSWER_BYTES_TYPICAL);
    serde_json::to_writer(
        &mut body,
        &Success {
            code: Code::Success.number(),
            msg: Code::Success.default_msg(),
            data,
        },
    )?;
    Ok(body)
}

/// An answer's usual size at most (three coins' `assets`: ~700 bytes).
const ANSWER_BYTES_TYPICAL: usize = 1024;

/// `{"code":N,"msg":"…","reason":"…"}`: the error envelope, without `data`.
pub fn error_body(code: Code, msg: &str) -> Vec<u8> {
    let failure = Failure {
        code: code.number(),
        msg,
        reason: code.reason(),
    };
    // A struct of integers and strings always serialises; the fallback keeps this
    // function total without a panic path.
    serde_json::to_vec(&failure).unwrap_or_else(|_| {
        format!(
            "{{\"code\":{},\"msg\":\"service err, please try again\"}}",
            Code::ServiceError.number()
        )
        .into_bytes()
    })
}
