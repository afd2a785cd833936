//! `rescanLostTransaction` (v2 spec §2.3.6): one transaction to one of the
//! merchant's addresses looked at again. On a chain that follows an EVM node
//! it is the operator's `ccgate evm rescan` (a missed payment, such as native
//! coin moved by a contract where the node gives no traces, is credited
//! once); the devnet credits every transfer as it is mined, so there is
//! nothing to rescan there.

use ccgate_api::v2::fields;
use ccgate_api::v2::rescan::{RescanRequest, Rescanned};
use ccgate_chain::ChainAdapter;
use ccgate_chain::address::canonical_address;
use ccgate_engine::reconcile::RescanOutcome;

use super::V2Result;
use super::coins::chain_by_symbol;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

pub async fn rescan_lost_transaction(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = RescanRequest::from_fields(&fields(&body)?)?;
    let chain = chain_by_symbol(&state.registry, &request.chain)?;
    let address = canonical_address(chain.family, &request.to_address);
    // Another merchant's address is answered like an unknown one: whether
    // it exists is not this merchant's to learn.
    let owned = state
        .records
        .deposit_address(chain.code.as_str(), &address)
        .await?
        .is_some_and(|found| found.app_id == merchant.app_id);
    if !owned {
        return Err(Failure::address_not_ours(&request.to_address).into());
    }
    let reconciler = state
        .reconcilers
        .iter()
        .find(|reconciler| reconciler.chain().chain().code == chain.code);
    let Some(reconciler) = reconciler else {
        return Ok(success(&Rescanned {
            description: format!(
                "{} is a simulated chain here: every transfer to a deposit address is credited as it is mined, so there is nothing to rescan.",
                chain.code
            ),
        })?);
    };
    let report = reconciler
        .rescan(&request.tx_id, state.clock.now_unix_ms())
        .await?;
    let to_this_address = report
        .transfers
        .iter()
        .filter(|(transfer, _)| transfer.to_address.eq_ignore_ascii_case(&address));
    let mut credited = 0;
    let mut before = 0;
    for (_, outcome) in to_this_address {
        match outcome {
            RescanOutcome::Credited => credited += 1,
            RescanOutcome::AlreadyCredited | RescanOutcome::CoveredByReconciliation { .. } => {
                before += 1;
            }
            RescanOutcome::NotOurs => {}
        }
    }
    let description = match (credited, before) {
        (0, 0) => "The transaction pays nothing this gateway takes to this address.".to_owned(),
        (0, _) => "The deposit was credited before; nothing more is due.".to_owned(),
        (n, _) => format!(
            "The deposit has been rescanned: {n} payment(s) to this address credited now; its webhook follows."
        ),
    };
    Ok(success(&Rescanned { description })?)
}
