//! Dashboard invoices (payment links, decisions §32): a merchant's user
//! makes one in the console; it is a hosted checkout marked as an invoice,
//! paid on the hosted page like any other, and its order's payments are
//! notified as v1's `Invoice` (v2's `ApiDeposit` to a merchant on v2).

use ccgate_ledger::Registry;
use ccgate_store::{Checkout, MerchantSummary, Order};

use super::{Console, ConsoleRefusal, Viewer, Visit, merchant_audit, refused, well_formed_email};
use crate::EngineError;
use crate::orders::{
    HostedCheckoutRequest, HostedPricing, ORDER_VALID_SECS_MAX, OrderState, OrderStatus, Orders,
    Validity,
};

/// Invoices on one page of the invoices list.
pub const INVOICES_PER_PAGE: u32 = 50;
/// A product name's length at most (v2's `product`).
const PRODUCT_CHARS_MAX: usize = 120;
/// A reference's length, as every merchant order id (v2's `orderId`).
const REFERENCE_CHARS: std::ops::RangeInclusive<usize> = 3..=64;

/// What a user asks for on the new-invoice form, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    /// A decimal, in `currency`.
    pub price: String,
    /// An ISO code of a configured fiat currency, or a coin's symbol.
    pub currency: String,
    pub product: String,
    /// How long it may be paid, from now.
    pub valid_secs: u64,
    /// The merchant's own id for it; empty: one is made up.
    pub reference: String,
    /// Who is asked to pay, if the merchant says: its webhook's
    /// `user_email`, shown on the invoice's console page; empty: none.
    pub payer_email: String,
}

/// An invoice and where its payment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceView {
    pub checkout: Checkout,
    /// The order the payer's choice of a network made, with its payments.
    pub order: Option<(Order, OrderState)>,
    pub status: OrderStatus,
}

/// A page of a merchant's invoices.
#[derive(Debug)]
pub struct InvoicesPage {
    pub merchant: MerchantSummary,
    /// Newest first, at most [`INVOICES_PER_PAGE`].
    pub invoices: Vec<InvoiceView>,
    /// Where the next (older) page starts: after this invoice (its creation
    /// and checkout key); `None` when no invoice is older.
    pub older: Option<(i64, String)>,
    /// What an invoice may be priced in: the configured fiat currencies,
    /// then the coins.
    pub currencies: Vec<String>,
}

impl Console {
    /// A new invoice of the merchant, in the dialect its webhooks are set
    /// to; the same one again for a repeat of the same reference and terms.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invoice(
        &self,
        viewer: &Viewer,
        app_id: &str,
        asked: &NewInvoice,
        orders: &Orders,
        registry: &Registry,
        visit: Visit<'_>,
        business_now_ms: i64,
    ) -> Result<Checkout, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let settings = self.settings_of(&merchant.app_id).await?;
        let invalid = |why: String| refused(ConsoleRefusal::Invalid(why));
        let code = asked.currency.trim().to_ascii_uppercase();
        let pricing = if orders.fiat_rates().contains_key(&code) {
            HostedPricing::Fiat(code)
        } else {
            let coin = registry
                .coins()
                .find(|coin| coin.symbol.eq_ignore_ascii_case(&code))
                .ok_or_else(|| invalid(format!("{code} is neither a currency nor a coin here")))?;
            HostedPricing::Coin {
                coin_id: coin.id.clone(),
                symbol: coin.symbol.clone(),
                precision: coin.precision,
            }
        };
        let product = asked.product.trim();
        if product.is_empty() || product.chars().count() > PRODUCT_CHARS_MAX {
            return Err(invalid(format!(
                "the product has from 1 to {PRODUCT_CHARS_MAX} characters"
            )));
        }
        if asked.valid_secs == 0 || asked.valid_secs > ORDER_VALID_SECS_MAX {
            return Err(invalid(
                "an invoice is valid for at most 10 days".to_owned(),
            ));
        }
        let reference = match asked.reference.trim() {
            "" => format!("inv-{}", &super::random_token()[..16]),
            given => given.to_owned(),
        };
        if !REFERENCE_CHARS.contains(&reference.chars().count())
            || reference.chars().any(char::is_control)
        {
            return Err(invalid(
                "the reference has from 3 to 64 characters".to_owned(),
            ));
        }
        let payer_email = match asked.payer_email.trim() {
            "" => None,
            given if well_formed_email(given) => Some(given.to_owned()),
            _ => {
                return Err(invalid(
                    "the payer's e-mail must look like name@example.com".to_owned(),
                ));
            }
        };
        // The row commits with the invoice (decisions §40): a refused or
        // repeated invoice leaves none.
        let audit = |checkout: &Checkout| {
            merchant_audit(
                viewer,
                &merchant,
                "invoice created",
                format!(
                    "{}: {} {}",
                    checkout.merchant_order_id,
                    checkout.product_price,
                    checkout.denominated_currency
                ),
                visit,
            )
        };
        let checkout = orders
            .create_hosted(
                &merchant.app_id,
                &HostedCheckoutRequest {
                    product_price: asked.price.trim().to_owned(),
                    pricing,
                    merchant_order_id: reference.clone(),
                    product_name: product.to_owned(),
                    validity: Validity::Period(Some(asked.valid_secs)),
                    return_url: None,
                    notify_url: None,
                    custom_value: None,
                    buyer_email: payer_email,
                    dialect: settings.webhook_dialect,
                    invoice: true,
                },
                business_now_ms,
                Some(&audit),
            )
            .await?;
        Ok(checkout)
    }

    /// A page of the merchant's invoices, newest first, after `after` (an
    /// invoice's creation and checkout key), each with where it stands as
    /// of `business_now_ms`.
    #[allow(clippy::too_many_arguments)]
    pub async fn invoices(
        &self,
        viewer: &Viewer,
        app_id: &str,
        after: Option<(i64, String)>,
        orders: &Orders,
        registry: &Registry,
        business_now_ms: i64,
    ) -> Result<InvoicesPage, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        // One more than a page, to know whether an older page exists.
        let mut found = orders
            .invoices(&merchant.app_id, after, INVOICES_PER_PAGE + 1)
            .await?;
        let older = if found.len() > INVOICES_PER_PAGE as usize {
            found.truncate(INVOICES_PER_PAGE as usize);
            found.last().map(|last| (last.created_at, last.key.clone()))
        } else {
            None
        };
        let mut invoices = Vec::new();
        for checkout in found {
            invoices.push(invoice_view(orders, checkout, business_now_ms).await?);
        }
        let currencies = orders
            .fiat_rates()
            .keys()
            .cloned()
            .chain(registry.coins().map(|coin| coin.symbol.clone()))
            .collect();
        Ok(InvoicesPage {
            merchant,
            invoices,
            older,
            currencies,
        })
    }

    /// One of the merchant's invoices, by its reference.
    pub async fn invoice(
        &self,
        viewer: &Viewer,
        app_id: &str,
        reference: &str,
        orders: &Orders,
        business_now_ms: i64,
    ) -> Result<(MerchantSummary, InvoiceView), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let checkout = orders
            .invoice(&merchant.app_id, reference)
            .await?
            .ok_or_else(|| refused(ConsoleRefusal::NotFound))?;
        let view = invoice_view(orders, checkout, business_now_ms).await?;
        Ok((merchant, view))
    }
}

/// Where an invoice stands: its order's state once a network is chosen;
/// before, pending until it expires.
async fn invoice_view(
    orders: &Orders,
    checkout: Checkout,
    business_now_ms: i64,
) -> Result<InvoiceView, EngineError> {
    let now_secs = business_now_ms.div_euclid(1000);
    let order = match orders.checkout_order(&checkout).await? {
        Some(order) => {
            let state = orders.progress(&order, now_secs).await?;
            Some((order, state))
        }
        None => None,
    };
    let status = match &order {
        Some((_, state)) => state.progress.status,
        None if now_secs > checkout.expires_at => OrderStatus::Expired,
        None => OrderStatus::Pending,
    };
    Ok(InvoiceView {
        checkout,
        order,
        status,
    })
}
