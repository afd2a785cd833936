use std::process::ExitCode;

use ccgate_client::Client;

use crate::CallArgs;

/// `ccgate call`: the integrator's probe. Exit 0 only for a success whose
/// signature verifies.
pub async fn run(args: &CallArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.base_url, &args.app_id, &args.secret)?;
    let answer = client
        .call_raw(&args.endpoint, args.json.as_bytes())
        .await?;
    let text = String::from_utf8_lossy(&answer.body);
    println!("HTTP {}", answer.status);
    println!("{text}");
    let verdict = match answer.signature_verified {
        Some(true) => "signature: verified",
        Some(false) => "signature: DOES NOT VERIFY (wrong secret, or the answer was altered)",
        None => "signature: none (the server did not sign this answer)",
    };
    println!("{verdict}");
    let success = text.starts_with(r#"{"code":10000,"#);
    Ok(if success && answer.signature_verified == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
