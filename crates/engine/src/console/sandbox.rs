//! The sandbox's controls as dashboard actions (decisions §30): the clock,
//! triggers, webhook faults and snapshots, for operators only, each written
//! to the audit log; and the sandbox's one-click demo login. Every method
//! takes the running [`Sandbox`] (or its [`Triggers`]), which exists only in
//! sandbox mode, so none of this can run on a live gateway.

use ccgate_ledger::MerchantId;
use ccgate_store::{ConsoleRole, ConsoleSession, MerchantSummary, StoreError, WebhookDialect};

use super::{
    Actor, Console, ConsoleRefusal, Login, Viewer, Visit, audit_row, generate_password,
    operator_only, random_token, refused, token_hash, viewer_of,
};
use crate::EngineError;
use crate::sandbox::{Advanced, ClockView, Sandbox, SnapshotInfo};
use crate::triggers::{TRIGGERS, Trigger, TriggerReport, TriggerRequest, Triggers};

/// The demo login's user: an operator, made at its first use.
pub const DEMO_EMAIL: &str = "demo@sandbox.invalid";

/// The longest advance one click may ask: a year.
const ADVANCE_MS_MAX: u64 = 366 * 24 * 60 * 60 * 1000;

/// What the sandbox page shows.
#[derive(Debug)]
pub struct SandboxPage {
    pub clock: ClockView,
    pub snapshots: Vec<SnapshotInfo>,
    pub triggers: &'static [Trigger],
    /// Whose webhooks a trigger or a fault may concern.
    pub merchants: Vec<MerchantSummary>,
}

/// A trigger to run, as the sandbox page's form asks it.
#[derive(Debug, Clone, Copy)]
pub struct TriggerAsk<'a> {
    pub name: &'a str,
    pub app_id: &'a str,
    pub dialect: WebhookDialect,
}

/// The sandbox's own refusals (a bad snapshot name, unknown fault words, a
/// trigger the merchant cannot run) are the operator's to mend.
fn sandbox_refusal(error: EngineError) -> EngineError {
    match error {
        EngineError::Sandbox(message) => refused(ConsoleRefusal::Invalid(message)),
        other => other,
    }
}

impl Console {
    async fn audit_sandbox(
        &self,
        viewer: &Viewer,
        app_id: Option<&MerchantId>,
        action: &str,
        detail: String,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let row = audit_row(Actor::User(viewer), app_id, action, detail, visit);
        Ok(self.store.append_audit(&row).await?)
    }

    pub async fn sandbox_page(
        &self,
        viewer: &Viewer,
        sandbox: &Sandbox,
    ) -> Result<SandboxPage, EngineError> {
        operator_only(viewer)?;
        Ok(SandboxPage {
            clock: sandbox.view(),
            snapshots: sandbox.list_snapshots().await.map_err(sandbox_refusal)?,
            triggers: &TRIGGERS,
            merchants: self.ledger.list_merchants().await?,
        })
    }

    /// Moves the sandbox's clock ahead by `by_ms`, running the loops' work
    /// that falls due on the way.
    pub async fn sandbox_advance(
        &self,
        viewer: &Viewer,
        sandbox: &Sandbox,
        by_ms: u64,
        visit: Visit<'_>,
    ) -> Result<Advanced, EngineError> {
        operator_only(viewer)?;
        if by_ms == 0 || by_ms > ADVANCE_MS_MAX {
            return Err(refused(ConsoleRefusal::Invalid(
                "advance the clock by a positive time of at most a year".to_owned(),
            )));
        }
        let advanced = sandbox.advance(by_ms).await.map_err(sandbox_refusal)?;
        let detail = format!("by {by_ms} ms");
        self.audit_sandbox(viewer, None, "sandbox clock advanced", detail, visit)
            .await?;
        Ok(advanced)
    }

    /// Runs a sandbox trigger for a merchant.
    pub async fn sandbox_trigger(
        &self,
        viewer: &Viewer,
        triggers: &Triggers,
        ask: TriggerAsk<'_>,
        visit: Visit<'_>,
    ) -> Result<TriggerReport, EngineError> {
        operator_only(viewer)?;
        let merchant = self.merchant(viewer, ask.app_id).await?;
        if !TRIGGERS.iter().any(|trigger| trigger.name == ask.name) {
            return Err(refused(ConsoleRefusal::Invalid(format!(
                "no trigger is named {:?}",
                ask.name
            ))));
        }
        let request = TriggerRequest {
            name: ask.name.to_owned(),
            app_id: merchant.app_id.clone(),
            merchant_order_id: None,
            token_id: None,
            dialect: ask.dialect,
        };
        let report = triggers.run(&request).await.map_err(sandbox_refusal)?;
        let detail = format!("{} ({})", ask.name, ask.dialect.as_str());
        self.audit_sandbox(
            viewer,
            Some(&merchant.app_id),
            "sandbox trigger fired",
            detail,
            visit,
        )
        .await?;
        Ok(report)
    }

    /// Injects faults (`delay=5s drop=0.3`…, as `ccgate sandbox webhooks
    /// fault` takes them) into the merchant's next `count` deliveries, or all
    /// until cleared; the fault words in force.
    pub async fn sandbox_webhook_faults(
        &self,
        viewer: &Viewer,
        sandbox: &Sandbox,
        app_id: &str,
        words: &str,
        count: Option<u32>,
        visit: Visit<'_>,
    ) -> Result<Vec<String>, EngineError> {
        operator_only(viewer)?;
        let merchant = self.merchant(viewer, app_id).await?;
        let words: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            return Err(refused(ConsoleRefusal::Invalid(
                "name at least one fault, like drop=0.5 or status=500".to_owned(),
            )));
        }
        let faults = sandbox
            .set_webhook_faults(&merchant.app_id, &words, count, 0)
            .await
            .map_err(sandbox_refusal)?;
        let described = crate::faults::describe(&faults);
        let detail = match count {
            Some(count) => format!("{} for {count} deliveries", described.join(" ")),
            None => format!("{} until cleared", described.join(" ")),
        };
        self.audit_sandbox(
            viewer,
            Some(&merchant.app_id),
            "sandbox webhook faults set",
            detail,
            visit,
        )
        .await?;
        Ok(described)
    }

    /// Stops injecting faults into the merchant's deliveries.
    pub async fn sandbox_clear_faults(
        &self,
        viewer: &Viewer,
        sandbox: &Sandbox,
        app_id: &str,
        visit: Visit<'_>,
    ) -> Result<bool, EngineError> {
        operator_only(viewer)?;
        let merchant = self.merchant(viewer, app_id).await?;
        let cleared = sandbox
            .clear_webhook_faults(&merchant.app_id)
            .await
            .map_err(sandbox_refusal)?;
        self.audit_sandbox(
            viewer,
            Some(&merchant.app_id),
            "sandbox webhook faults cleared",
            String::new(),
            visit,
        )
        .await?;
        Ok(cleared)
    }

    pub async fn sandbox_save(
        &self,
        viewer: &Viewer,
        sandbox: &Sandbox,
        name: &str,
        visit: Visit<'_>,
    ) -> Result<SnapshotInfo, EngineError> {
        operator_only(viewer)?;
        let saved = sandbox
            .save_snapshot(name.trim())
            .await
            .map_err(sandbox_refusal)?;
        self.audit_sandbox(
            viewer,
            None,
            "sandbox snapshot saved",
            saved.name.clone(),
            visit,
        )
        .await?;
        Ok(saved)
    }

    /// Replaces the whole state with a snapshot's, the dashboard's users,
    /// sessions and audit log included: the audit row of the restore is
    /// written into the restored state, and a session the snapshot does not
    /// hold ends.
    pub async fn sandbox_restore(
        &self,
        viewer: &Viewer,
        sandbox: &Sandbox,
        name: &str,
        visit: Visit<'_>,
    ) -> Result<ClockView, EngineError> {
        operator_only(viewer)?;
        let clock = sandbox
            .restore_snapshot(name.trim())
            .await
            .map_err(sandbox_refusal)?;
        self.audit_sandbox(
            viewer,
            None,
            "sandbox snapshot restored",
            name.trim().to_owned(),
            visit,
        )
        .await?;
        Ok(clock)
    }

    /// The sandbox's one-click login: a session of the demo operator
    /// ([`DEMO_EMAIL`], made with a password nobody is shown at its first
    /// use), ending the session the request came with. Takes the running
    /// sandbox, which a live gateway does not have.
    pub async fn demo_login(
        &self,
        _sandbox: &Sandbox,
        replaced_token: Option<&str>,
        visit: Visit<'_>,
    ) -> Result<Login, EngineError> {
        let user = match self.store.console_user_by_email(DEMO_EMAIL).await? {
            Some(user) => user,
            None => {
                let made = self
                    .create_user(
                        Actor::Cli,
                        DEMO_EMAIL,
                        &generate_password(),
                        ConsoleRole::Operator,
                        visit,
                    )
                    .await;
                // Two first clicks at once: the other one made it.
                if let Err(error) = made
                    && !matches!(
                        &error,
                        EngineError::Rejected(crate::Rejection::Console(
                            ConsoleRefusal::UserExists(_)
                        ))
                    )
                {
                    return Err(error);
                }
                self.store
                    .console_user_by_email(DEMO_EMAIL)
                    .await?
                    .ok_or_else(|| {
                        EngineError::Store(StoreError::Corrupt("the demo user vanished".into()))
                    })?
            }
        };
        if user.role != ConsoleRole::Operator {
            return Ok(Login::Refused);
        }
        let token = random_token();
        let session = ConsoleSession {
            id_hash: token_hash(&token),
            user_id: user.id,
            csrf_token: random_token(),
            created_at_ms: visit.now_ms,
            last_seen_ms: visit.now_ms,
        };
        let viewer = viewer_of(&user, &session);
        let audit = audit_row(
            Actor::User(&viewer),
            None,
            "demo login",
            String::new(),
            visit,
        );
        self.store
            .start_console_session(
                &session,
                replaced_token.map(token_hash).as_deref(),
                DEMO_EMAIL,
                &audit,
            )
            .await?;
        Ok(Login::Started {
            token: secrecy::SecretString::from(token),
            viewer,
        })
    }
}
