//! Sweep transactions (CCPayment's "token aggregation"), as the chain sees
//! them: what a deposit address holds, a sweep of one token into the hot
//! wallet drafted at the nonce the caller read (the native coin less its
//! gas, or a token, whose gas the address may first need topped up) and
//! signed by the address's own key. Which addresses are due, what is stored
//! before a broadcast, top-ups and settlement are `engine::sweeps`'.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use ccgate_ledger::{Amount, Token, TokenId};
use secrecy::ExposeSecret;

use super::{ChainToken, EvmChain, NATIVE_TRANSFER_GAS, SignedTx, balanceOfCall, transferCall};
use crate::adapter::ChainError;
use crate::keys::{DepositSeed, evm_deposit_key};

/// A deposit address's own key, checked to be that address's.
#[derive(Debug)]
pub struct DepositSigner {
    signer: PrivateKeySigner,
}

impl DepositSigner {
    /// The key of derivation `index` of `seed`, which must sign for `address`.
    pub fn new(seed: &DepositSeed, index: u32, address: &str) -> Result<DepositSigner, ChainError> {
        let key = evm_deposit_key(seed, index)
            .map_err(|err| ChainError::Config(format!("deposit key: {err}")))?;
        let signer = PrivateKeySigner::from_slice(key.expose_secret())
            .map_err(|_| ChainError::Config("a deposit key is not a valid secp256k1 key".into()))?;
        if signer.address().to_checksum(None) != address {
            return Err(ChainError::Config(format!(
                "deposit address {address} is not index {index} of this seed"
            )));
        }
        Ok(DepositSigner { signer })
    }
}

/// A sweep of one token from one deposit address into the hot wallet, at
/// one nonce, before it is signed.
#[derive(Debug, Clone)]
pub struct SweepDraft {
    nonce: u64,
    kind: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    max_fee_per_gas: u128,
    /// What the address holds of the native coin, in wei.
    native_wei: U256,
    /// What it moves, in the coin's base units.
    amount: Amount,
    /// A token's (its gas paid from the address's native coin), not the
    /// native coin's own.
    token: bool,
    /// Where it goes: the hot wallet, checksummed.
    to_address: String,
}

impl SweepDraft {
    /// What the sweep moves, in the coin's base units.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// Whether it sweeps a token, whose gas the address pays in the native
    /// coin (and may need topped up); else the native coin, less its gas.
    pub fn moves_token(&self) -> bool {
        self.token
    }

    pub fn to_address(&self) -> &str {
        &self.to_address
    }

    /// At most what the address holds pays the gas: a top-up arrived but
    /// the fee rose since.
    pub fn fit_fee_to_balance(&mut self) {
        let affordable = self.native_wei / U256::from(self.gas_limit.max(1));
        self.max_fee_per_gas = u128::try_from(affordable)
            .unwrap_or(u128::MAX)
            .min(self.max_fee_per_gas);
    }
}

impl EvmChain {
    /// What `address` holds of each of the chain's tokens that is `wanted`,
    /// native coin first; one node call per token read.
    pub async fn balances(
        &self,
        address: &str,
        wanted: impl Fn(&Token) -> bool,
    ) -> Result<Vec<(&Token, Amount)>, ChainError> {
        let owner: Address = address
            .parse()
            .map_err(|_| ChainError::Config(format!("stored deposit address {address:?}")))?;
        Ok(self
            .balances_of_tokens(owner, |entry| wanted(&entry.token))
            .await?
            .into_iter()
            .map(|(entry, amount)| (&entry.token, amount))
            .collect())
    }

    /// A sweep of `held` (what the address holds now) of `token_id` from the
    /// signer's address to the hot wallet at `nonce`, with the fees and gas
    /// read now; `None` when the native coin's gas would eat it all.
    pub async fn draft_sweep(
        &self,
        from: &DepositSigner,
        token_id: &TokenId,
        held: Amount,
        nonce: u64,
    ) -> Result<Option<SweepDraft>, ChainError> {
        let hot_wallet = self.hot_wallet()?.signer.address();
        let owner = from.signer.address();
        let (entry, contract) = self.token_of_id(token_id)?;
        let units = entry.chain_units(held)?;
        let max_fee_per_gas = self.read_max_fee_per_gas().await?;
        let native_wei = self
            .provider
            .get_balance(owner)
            .await
            .map_err(|err| self.node_error("eth_getBalance", err))?;
        let (kind, value, input, gas_limit, amount) = match contract {
            None => {
                let gas = U256::from(max_fee_per_gas) * U256::from(NATIVE_TRANSFER_GAS);
                // What is left after the gas; nothing worth a transaction
                // when the gas would eat it all.
                let Some(value) = units.checked_sub(gas).filter(|value| !value.is_zero()) else {
                    return Ok(None);
                };
                (
                    TxKind::Call(hot_wallet),
                    value,
                    Bytes::new(),
                    NATIVE_TRANSFER_GAS,
                    entry.amount(value)?,
                )
            }
            Some(contract) => {
                let input = Bytes::from(
                    transferCall {
                        to: hot_wallet,
                        value: units,
                    }
                    .abi_encode(),
                );
                let request = TransactionRequest::default()
                    .with_from(owner)
                    .with_to(contract)
                    .with_input(input.clone());
                let estimated = self
                    .provider
                    .estimate_gas(request)
                    .await
                    .map_err(|err| self.node_error("eth_estimateGas", err))?;
                // The same margin as a token payout: state may move before
                // the sweep is mined.
                let gas_limit = estimated.saturating_add(estimated / 5);
                (TxKind::Call(contract), U256::ZERO, input, gas_limit, held)
            }
        };
        Ok(Some(SweepDraft {
            nonce,
            kind,
            value,
            input,
            gas_limit,
            max_fee_per_gas,
            native_wei,
            amount,
            token: contract.is_some(),
            to_address: hot_wallet.to_checksum(None),
        }))
    }

    /// What a token sweep's address lacks of the native coin to pay its gas
    /// at the drafted fee, in the native coin's base units; `None` when it
    /// holds enough (and always for a sweep of the native coin itself).
    pub fn sweep_gas_shortfall(&self, draft: &SweepDraft) -> Result<Option<Amount>, ChainError> {
        if !draft.token {
            return Ok(None);
        }
        let needed = U256::from(draft.max_fee_per_gas) * U256::from(draft.gas_limit);
        if draft.native_wei >= needed {
            return Ok(None);
        }
        Ok(Some(
            self.native_token_entry()?
                .amount(needed - draft.native_wei)?,
        ))
    }

    /// Signs a drafted sweep with the address's key (the tip read now, at
    /// most the max fee); nothing is sent.
    pub async fn sign_sweep(
        &self,
        from: &DepositSigner,
        draft: &SweepDraft,
    ) -> Result<SignedTx, ChainError> {
        let max_priority_fee_per_gas = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .map_err(|err| self.node_error("eth_maxPriorityFeePerGas", err))?
            .min(draft.max_fee_per_gas);
        let mut chain_tx = TxEip1559 {
            chain_id: self.config.chain_id,
            nonce: draft.nonce,
            gas_limit: draft.gas_limit,
            max_fee_per_gas: draft.max_fee_per_gas,
            max_priority_fee_per_gas,
            to: draft.kind,
            value: draft.value,
            access_list: Default::default(),
            input: draft.input.clone(),
        };
        let signature = from
            .signer
            .sign_transaction_sync(&mut chain_tx)
            .map_err(|err| ChainError::Config(format!("sign a sweep: {err}")))?;
        let envelope = TxEnvelope::from(chain_tx.into_signed(signature));
        Ok(SignedTx {
            from_address: from.signer.address().to_checksum(None),
            nonce: draft.nonce,
            txid: envelope.tx_hash().to_string(),
            raw_tx: format!("0x{}", hex::encode(envelope.encoded_2718())),
        })
    }

    /// The native coin's and every configured token's balance of `owner`.
    async fn balances_of(&self, owner: Address) -> Result<Vec<(&ChainToken, Amount)>, ChainError> {
        self.balances_of_tokens(owner, |_| true).await
    }

    /// `owner`'s balance of each of the chain's tokens that is `wanted`,
    /// native coin first; one node call per token read.
    async fn balances_of_tokens(
        &self,
        owner: Address,
        wanted: impl Fn(&ChainToken) -> bool,
    ) -> Result<Vec<(&ChainToken, Amount)>, ChainError> {
        let mut balances = Vec::new();
        if let Some(native) = self.native.as_ref().filter(|native| wanted(native)) {
            let wei = self
                .provider
                .get_balance(owner)
                .await
                .map_err(|err| self.node_error("eth_getBalance", err))?;
            balances.push((native, native.amount(wei)?));
        }
        for (contract, entry) in self.erc20.iter().filter(|(_, entry)| wanted(entry)) {
            let request = TransactionRequest::default()
                .with_to(*contract)
                .with_input(Bytes::from(balanceOfCall { owner }.abi_encode()));
            let answer = self
                .provider
                .call(request)
                .await
                .map_err(|err| self.node_error("eth_call(balanceOf)", err))?;
            let units = balanceOfCall::abi_decode_returns(&answer)
                .map_err(|err| self.node_error("eth_call(balanceOf)", err))?;
            balances.push((entry, entry.amount(units)?));
        }
        Ok(balances)
    }

    /// What `address` holds of each of the chain's tokens, native coin
    /// first: the operator's view of the hot wallet (`ccgate doctor`).
    pub async fn holdings(&self, address: &str) -> Result<Vec<(TokenId, Amount)>, ChainError> {
        let owner: Address = address
            .parse()
            .map_err(|_| ChainError::Config(format!("{address:?} is not an EVM address")))?;
        Ok(self
            .balances_of(owner)
            .await?
            .into_iter()
            .map(|(entry, amount)| (entry.token.id.clone(), amount))
            .collect())
    }

    pub(super) fn native_token_entry(&self) -> Result<&ChainToken, ChainError> {
        self.native.as_ref().ok_or_else(|| {
            ChainError::Config(format!(
                "chain {} has no native coin configured to pay gas",
                self.chain.code
            ))
        })
    }
}
