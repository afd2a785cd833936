//! The operator's say over dashboard users and merchants' fees (issue #20,
//! decisions §34): the users page (every user, its role, second factor and
//! last login), disabling and enabling a user, and a merchant's service fee
//! — the setting `ccgate merchant set-fee` writes. Operators only; each
//! change is an audit row.

use ccgate_ledger::{Amount, Precision};
use ccgate_store::{ConsoleRole, ConsoleUserListing, UserChange};

use super::{
    Console, ConsoleRefusal, Viewer, Visit, audit_row, merchant_audit, operator_only, refused,
};
use crate::EngineError;
use crate::console::Actor;

/// Decimal places of a service fee in percent: 4 places of a percent are
/// parts per million, the unit the fee is stored in.
const FEE_PERCENT_PLACES: u8 = 4;
/// 100 %.
const FEE_PPM_MAX: u128 = 1_000_000;

fn fee_places() -> Precision {
    Precision::new(FEE_PERCENT_PLACES).unwrap_or(Precision::MAX)
}

/// A service fee typed as a percentage (`"0.03"`, at most 4 decimal
/// places, from 0 to 100) in parts per million; `None` otherwise.
pub fn fee_ppm_of_percent(percent: &str) -> Option<u32> {
    Amount::parse_decimal(percent.trim(), fee_places())
        .ok()
        .map(Amount::base_units)
        .filter(|ppm| *ppm <= FEE_PPM_MAX)
        .and_then(|ppm| u32::try_from(ppm).ok())
}

/// A fee in parts per million as a percentage, e.g. 300 → `"0.03"`.
pub fn fee_percent_text(ppm: u32) -> String {
    Amount::from_base_units(u128::from(ppm)).to_decimal_string(fee_places())
}

impl Console {
    /// Every dashboard user, oldest first (operators only).
    pub async fn users(&self, viewer: &Viewer) -> Result<Vec<ConsoleUserListing>, EngineError> {
        operator_only(viewer)?;
        Ok(self.store.console_user_listing().await?)
    }

    /// Disables the user `user_id` — its sessions end at once and its
    /// logins are refused — or enables it again (operators only). An
    /// operator cannot disable itself: the last operator would lock
    /// everyone out of the console.
    pub async fn set_user_disabled(
        &self,
        viewer: &Viewer,
        user_id: i64,
        disabled: bool,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        operator_only(viewer)?;
        if disabled && user_id == viewer.user_id {
            return Err(refused(ConsoleRefusal::Invalid(
                "you cannot disable yourself".to_owned(),
            )));
        }
        let user = self
            .store
            .console_user(user_id)
            .await?
            .ok_or_else(|| refused(ConsoleRefusal::NotFound))?;
        let action = if disabled {
            "user disabled"
        } else {
            "user enabled"
        };
        let audit = audit_row(
            Actor::User(viewer),
            user.role.merchant(),
            action,
            user.email.clone(),
            visit,
        );
        let disabled_at_ms = disabled.then_some(visit.now_ms);
        let change = self
            .store
            .set_console_user_disabled(user_id, disabled_at_ms, &audit)
            .await?;
        user_changed(change, &user.email)
    }

    /// Gives the user `user_id` the role `role` — operator, or a user of a
    /// merchant that exists (operators only, decisions §40). Its sessions
    /// end, so the new role applies at its next login. An operator cannot
    /// change its own role, and the last operator not disabled stays one:
    /// either would leave the console with nobody to run it.
    pub async fn set_user_role(
        &self,
        viewer: &Viewer,
        user_id: i64,
        role: ConsoleRole,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        operator_only(viewer)?;
        if user_id == viewer.user_id {
            return Err(refused(ConsoleRefusal::Invalid(
                "you cannot change your own role".to_owned(),
            )));
        }
        if let ConsoleRole::Merchant(app_id) = &role {
            self.merchant(viewer, app_id.as_str()).await?;
        }
        let user = self
            .store
            .console_user(user_id)
            .await?
            .ok_or_else(|| refused(ConsoleRefusal::NotFound))?;
        if user.role == role {
            return Err(refused(ConsoleRefusal::Invalid(format!(
                "{} already has that role",
                user.email
            ))));
        }
        let detail = format!(
            "{}: {} → {}",
            user.email,
            role_text(&user.role),
            role_text(&role)
        );
        // The row belongs to the merchant the user joins, or the one it
        // leaves: either merchant's log shows the change.
        let merchant = role.merchant().or(user.role.merchant());
        let audit = audit_row(
            Actor::User(viewer),
            merchant,
            "user role changed",
            detail,
            visit,
        );
        let change = self
            .store
            .set_console_user_role(user_id, &role, &audit)
            .await?;
        user_changed(change, &user.email)
    }

    /// Sets the merchant's service fee, typed as a percentage (operators
    /// only): the share of each later deposit the operator keeps.
    pub async fn set_service_fee(
        &self,
        viewer: &Viewer,
        app_id: &str,
        percent: &str,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        operator_only(viewer)?;
        let merchant = self.merchant(viewer, app_id).await?;
        let ppm = fee_ppm_of_percent(percent).ok_or_else(|| {
            refused(ConsoleRefusal::Invalid(format!(
                "{:?} is not a percentage from 0 to 100 with at most {FEE_PERCENT_PLACES} decimal places",
                percent.trim()
            )))
        })?;
        let detail = format!("{} % ({ppm} ppm)", fee_percent_text(ppm));
        let audit = merchant_audit(viewer, &merchant, "service fee set", detail, visit);
        Ok(self
            .settings
            .set_service_fee(&merchant.app_id, ppm, Some(&audit))
            .await?)
    }
}

fn role_text(role: &ConsoleRole) -> String {
    match role {
        ConsoleRole::Operator => "operator".to_owned(),
        ConsoleRole::Merchant(app_id) => format!("merchant user of {app_id}"),
    }
}

/// A refusal for a user change the store did not make (decisions §44).
fn user_changed(change: UserChange, email: &str) -> Result<(), EngineError> {
    match change {
        UserChange::Changed => Ok(()),
        UserChange::NoSuchUser => Err(refused(ConsoleRefusal::NotFound)),
        UserChange::LastOperator => Err(refused(ConsoleRefusal::Invalid(format!(
            "{email} is the last operator; make another operator first"
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_are_percentages_with_four_places_up_to_a_hundred() {
        assert_eq!(fee_ppm_of_percent("0.03"), Some(300));
        assert_eq!(fee_ppm_of_percent(" 1.5 "), Some(15_000));
        assert_eq!(fee_ppm_of_percent("0"), Some(0));
        assert_eq!(fee_ppm_of_percent("100"), Some(1_000_000));
        for bad in ["100.0001", "0.00001", "-1", "", "abc", "1e2"] {
            assert_eq!(fee_ppm_of_percent(bad), None, "{bad:?}");
        }
        assert_eq!(fee_percent_text(300), "0.03");
        assert_eq!(fee_percent_text(15_000), "1.5");
        assert_eq!(fee_percent_text(0), "0");
    }
}
