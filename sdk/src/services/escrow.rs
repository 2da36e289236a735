//! The escrow service: the market's escrow part, where customers' deposits wait in free balances
//! and deals' deposits, and suppliers' earnings and the protocol's fees accrue.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    signers::Signer,
};

use crate::{
    Client, Error, Funds,
    bindings::Market::{self, MarketInstance},
    error::Target,
    market::{DealId, Fee},
    units::Snm,
};

/// The market's escrow (see the [module documentation](crate::services)).
#[derive(Clone, Debug)]
pub struct EscrowService<P> {
    client: Client<P>,
    address: Address,
}

impl<P> EscrowService<P> {
    /// The escrow of `client`'s deployment (the market's address).
    pub fn new(client: Client<P>) -> Self {
        let address = client.deployment().market;
        Self { client, address }
    }

    /// Its address (the market's).
    pub fn address(&self) -> Address {
        self.address
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        &self.client
    }
}

impl<P: Provider + Clone> EscrowService<P> {
    /// The market's generated binding, for what the service does not cover.
    pub fn contract(&self) -> MarketInstance<&P> {
        Market::new(self.address, self.client.provider())
    }

    fn sender(&self) -> Address {
        self.client.sender()
    }

    // ------------------------------------------------------------------ balances

    /// `account`'s free balance (deposited, not locked in a deal).
    pub async fn free_balance(&self, account: Address) -> Result<Snm, Error> {
        Ok(Snm::from_wei(self.contract().balanceOf(account).call().await?))
    }

    /// `master`'s earnings, not withdrawn yet.
    pub async fn earnings(&self, master: Address) -> Result<Snm, Error> {
        Ok(Snm::from_wei(self.contract().earningsOf(master).call().await?))
    }

    /// The protocol fee.
    pub async fn fee(&self) -> Result<Fee, Error> {
        let fee = self.contract().fee().call().await?;
        Ok(Fee {
            bps: fee.feeBps.saturating_to(),
            treasury: (!fee.treasury.is_zero()).then_some(fee.treasury),
        })
    }

    /// Fees accrued and not withdrawn yet.
    pub async fn accrued_fees(&self) -> Result<Snm, Error> {
        Ok(Snm::from_wei(self.contract().accruedFees().call().await?))
    }

    // ------------------------------------------------------------------ customers

    /// Moves `amount` of the sender's tokens into its free balance, through the allowance the
    /// market already has; returns the new free balance. Checked first:
    /// [`Error::InsufficientFunds`] with [`Funds::TokenBalance`] or [`Funds::Allowance`].
    /// [`Customer::deposit`](crate::Customer::deposit) approves or signs a permit when needed.
    pub async fn deposit(&self, amount: Snm) -> Result<Snm, Error> {
        self.client.token().check_spend(amount, self.address, false).await?;
        self.send_deposit(amount).await
    }

    /// [`Self::deposit`] without the checks (its caller made them).
    pub(crate) async fn send_deposit(&self, amount: Snm) -> Result<Snm, Error> {
        let call = Market::depositCall { account: self.sender(), amount: amount.wei() };
        let deposited: Market::Deposited = self.client.send_event(Target::Market, call).await?;
        Ok(Snm::from_wei(deposited.balance))
    }

    /// [`Self::deposit`] with an EIP-2612 permit signed by `signer` (the sender's key) instead of
    /// an allowance: one transaction. The market's permit sets its allowance to the amount, which the call then
    /// spends: an allowance given before is used up (it is zero afterwards). A key of
    /// another account is refused before sending ([`Error::PermitSigner`]).
    pub async fn deposit_with_permit<S: Signer + Send + Sync + ?Sized>(
        &self,
        signer: &S,
        amount: Snm,
    ) -> Result<Snm, Error> {
        let token = self.client.token();
        token.check_spend(amount, self.address, true).await?;
        let permit = token.sign_permit(signer, self.address, amount).await?;
        let call = Market::depositWithPermitCall {
            account: self.sender(),
            amount: amount.wei(),
            deadline: U256::from(permit.deadline),
            v: permit.v,
            r: permit.r,
            s: permit.s,
        };
        let deposited: Market::Deposited = self.client.send_event(Target::Market, call).await?;
        Ok(Snm::from_wei(deposited.balance))
    }

    /// Adds `amount` of the sender's free balance to a running deal's deposit (anyone may top up
    /// any deal); returns the deal's new deposit. Checked first: [`Error::InsufficientFunds`] with
    /// [`Funds::FreeBalance`].
    pub async fn top_up(&self, deal: DealId, amount: Snm) -> Result<Snm, Error> {
        self.client.check_funds(Funds::FreeBalance, self.free_balance(self.sender()).await?, amount)?;
        let call = Market::topUpCall { dealId: deal.word(), amount: amount.wei() };
        let topped: Market::DealToppedUp = self.client.send_event(Target::Market, call).await?;
        Ok(Snm::from_wei(topped.deposit))
    }

    /// Withdraws `amount` of the sender's free balance to its own address; returns the free
    /// balance left. Checked first: [`Error::InsufficientFunds`] with [`Funds::FreeBalance`].
    pub async fn withdraw(&self, amount: Snm) -> Result<Snm, Error> {
        self.client.check_funds(Funds::FreeBalance, self.free_balance(self.sender()).await?, amount)?;
        let call = Market::withdrawCall { amount: amount.wei(), to: self.sender() };
        let withdrawn: Market::Withdrawn = self.client.send_event(Target::Market, call).await?;
        Ok(Snm::from_wei(withdrawn.balance))
    }

    // ------------------------------------------------------------------ suppliers

    /// Withdraws `amount` of the sender's earnings (as a master) to its own address; returns the
    /// earnings left. Checked first: [`Error::InsufficientFunds`] with [`Funds::Earnings`].
    pub async fn withdraw_earnings(&self, amount: Snm) -> Result<Snm, Error> {
        self.client.check_funds(Funds::Earnings, self.earnings(self.sender()).await?, amount)?;
        let call = Market::withdrawEarningsCall { amount: amount.wei(), to: self.sender() };
        let withdrawn: Market::EarningsWithdrawn = self.client.send_event(Target::Market, call).await?;
        Ok(Snm::from_wei(withdrawn.earnings))
    }

    /// Withdraws all of the sender's earnings (as a master) to its own address, in one
    /// transaction; returns the amount withdrawn. With no earnings, nothing is sent and zero is
    /// returned. Earnings that accrue between the read and the transaction (a settlement in the
    /// same block) stay for next time.
    pub async fn withdraw_all_earnings(&self) -> Result<Snm, Error> {
        let earnings = self.earnings(self.sender()).await?;
        if earnings == Snm::ZERO {
            return Ok(Snm::ZERO);
        }
        let call = Market::withdrawEarningsCall { amount: earnings.wei(), to: self.sender() };
        let withdrawn: Market::EarningsWithdrawn = self.client.send_event(Target::Market, call).await?;
        Ok(Snm::from_wei(withdrawn.amount))
    }

    // ------------------------------------------------------------------ the operator

    /// Sets the protocol fee (basis points of each supplier payment, at most 1,000) and the
    /// treasury receiving it (the owner only); applies to deals opened afterwards.
    pub async fn set_fee(&self, fee_bps: u16, treasury: Address) -> Result<(), Error> {
        let call = Market::setFeeCall { feeBps: U256::from(fee_bps), treasury };
        self.client.send_market(call).await.map(drop)
    }

    /// Sends every accrued fee to the treasury (anyone may); returns the amount.
    pub async fn withdraw_fees(&self) -> Result<Snm, Error> {
        let withdrawn: Market::FeesWithdrawn =
            self.client.send_event(Target::Market, Market::withdrawFeesCall {}).await?;
        Ok(Snm::from_wei(withdrawn.amount))
    }
}
