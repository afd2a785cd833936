//! The operator's pages (issue #20, decisions §30): the operator's and
//! custody accounts (what `ccgate ledger accounts` shows), each chain's
//! status (height, scan lag, hot wallet, withdrawals waiting for the chain)
//! and the incidents `ccgate doctor` reports from the database (reorgs that
//! touched credited deposits, reconciliation shortfalls). Operators only.

use ccgate_ledger::{Account, Amount, CoinId};

use super::{Console, Viewer, operator_only};
use crate::EngineError;
use crate::network::{HotWalletHoldings, Network};

/// One operator or custody account in one coin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAccount {
    pub account: Account,
    pub coin_id: CoinId,
    pub debits: Amount,
    pub credits: Amount,
}

/// Open chain withdrawals read for the status page at most: a count at the
/// cap reads "at least".
pub const OPEN_WITHDRAWALS_READ: u32 = 1_000;

/// One chain as the operator sees it.
#[derive(Debug)]
pub struct ChainStatus {
    pub chain: String,
    /// Follows a node (else a devnet).
    pub live: bool,
    pub height: Result<u64, EngineError>,
    /// Confirmed blocks not scanned yet, when the height was read.
    pub scan_lag: Option<Result<u64, EngineError>>,
    /// The hot wallet's holdings, on a chain that follows a node.
    pub hot_wallet: Option<Result<HotWalletHoldings, EngineError>>,
    /// Accepted chain withdrawals not resolved yet (pending or sent).
    pub withdrawals_waiting: usize,
}

/// The chains' status, and whether the withdrawal count hit its cap.
#[derive(Debug)]
pub struct ChainsStatus {
    pub chains: Vec<ChainStatus>,
    pub withdrawals_capped: bool,
}

/// Something `ccgate doctor` would report as a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// `reorg` or `reconciliation`.
    pub kind: &'static str,
    pub chain: String,
    pub what: String,
    /// When it was found (unix ms).
    pub at_ms: i64,
}

impl Console {
    /// Every operator and custody account's debits and credits per coin.
    pub async fn operator_accounts(
        &self,
        viewer: &Viewer,
    ) -> Result<Vec<OperatorAccount>, EngineError> {
        operator_only(viewer)?;
        let balances = self.ledger.all_balances().await?;
        Ok(balances
            .into_iter()
            .filter(|((account, _), _)| {
                matches!(
                    account,
                    Account::ChainCustody(_)
                        | Account::OperatorFees
                        | Account::OperatorNetworkCosts
                        | Account::OperatorAdjustments
                        | Account::OperatorTreasury
                )
            })
            .map(|((account, coin_id), balance)| OperatorAccount {
                account,
                coin_id,
                debits: balance.debits_posted,
                credits: balance.credits_posted,
            })
            .collect())
    }

    /// Each configured chain's head, scan lag, hot wallet and withdrawals
    /// waiting for it, as of `now_ms` (business time: a devnet's height).
    pub async fn chains_status(
        &self,
        viewer: &Viewer,
        network: &Network,
        now_ms: i64,
    ) -> Result<ChainsStatus, EngineError> {
        operator_only(viewer)?;
        let open = self
            .withdrawals
            .open_withdrawals(OPEN_WITHDRAWALS_READ)
            .await?;
        let mut hot_wallets = network.hot_wallets().await;
        let figures = network.figures(now_ms).await;
        let chains = figures
            .chains
            .into_iter()
            .map(|figures| {
                let hot_wallet = hot_wallets
                    .iter()
                    .position(|(code, _)| *code == figures.chain)
                    .map(|at| hot_wallets.swap_remove(at).1);
                ChainStatus {
                    live: hot_wallet.is_some(),
                    withdrawals_waiting: open.iter().filter(|w| w.chain == figures.chain).count(),
                    chain: figures.chain,
                    height: figures.height,
                    scan_lag: figures.scan_lag,
                    hot_wallet,
                }
            })
            .collect();
        Ok(ChainsStatus {
            chains,
            withdrawals_capped: open.len() >= OPEN_WITHDRAWALS_READ as usize,
        })
    }

    /// Reorgs that touched credited deposits and reconciliation shortfalls
    /// on the chains that follow a node, newest first.
    pub async fn incidents(
        &self,
        viewer: &Viewer,
        network: &Network,
    ) -> Result<Vec<Incident>, EngineError> {
        operator_only(viewer)?;
        let mut incidents: Vec<Incident> = self
            .incidents
            .reorg_incidents()
            .await?
            .into_iter()
            .map(|incident| Incident {
                kind: "reorg",
                chain: incident.chain,
                what: format!(
                    "{} #{} (record {}): {}",
                    incident.txid, incident.log_index, incident.record_id, incident.what
                ),
                at_ms: incident.at_ms,
            })
            .collect();
        for chain in network.live_chains() {
            let native = network.native_coin(chain);
            for shortfall in self.reconciliations.shortfalls(chain).await? {
                let amount = match native {
                    Some(coin) => format!(
                        "{} {}",
                        shortfall.amount.to_decimal_string(coin.precision),
                        coin.symbol
                    ),
                    None => format!("{} base units", shortfall.amount.base_units()),
                };
                incidents.push(Incident {
                    kind: "reconciliation",
                    chain: chain.to_owned(),
                    what: format!(
                        "{} holds {amount} less than the books at block {}",
                        shortfall.address, shortfall.height
                    ),
                    at_ms: shortfall.found_at_ms,
                });
            }
        }
        incidents.sort_by_key(|incident| std::cmp::Reverse(incident.at_ms));
        Ok(incidents)
    }
}
