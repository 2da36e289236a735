//! Where every SNM is: the check that ends the demo.

use std::fmt;

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use snm_sdk::{
    Client, Error,
    bindings::{Market, RewardDistributor, SNMToken},
    units::Snm,
};

/// The token's supply against what every holder has, and the market's and the distributor's books
/// against the tokens they hold.
#[derive(Clone, Debug)]
pub struct Ledger {
    /// Everything minted.
    pub supply: Snm,
    /// Held by accounts (not contracts of the marketplace).
    pub wallets: Snm,
    /// Held by the market.
    pub market: Snm,
    /// The market's books: free balances, deal deposits, earnings, fees.
    pub market_owes: Snm,
    /// Held by the reward distributor.
    pub distributor: Snm,
    /// Funded minus claimed.
    pub distributor_owes: Snm,
    /// Accounts (not the marketplace's contracts) that ever received SNM.
    pub holders: usize,
}

impl Ledger {
    /// Reads it from the chain: holders from every `Transfer` of the token; the market's debts from
    /// its events (free balances of depositors and customers, deposits of open deals, earnings of
    /// masters, accrued fees); the distributor's from what it was funded minus what its `Claimed`
    /// events paid.
    pub async fn read(client: &Client<DynProvider>) -> Result<Self, Error> {
        let deployment = client.deployment();
        let provider = client.provider();
        let token = SNMToken::new(deployment.token, provider);
        let market = Market::new(deployment.market, provider);

        // From the first block: the token (and its mint) may be older than the market.
        let logs = |address: Address| Filter::new().address(address).from_block(0);
        let mut holders: Vec<Address> = Vec::new();
        for log in provider
            .get_logs(&logs(deployment.token).event_signature(SNMToken::Transfer::SIGNATURE_HASH))
            .await?
        {
            if let Ok(t) = SNMToken::Transfer::decode_log(&log.inner) {
                holders.push(t.data.to);
            }
        }
        holders.sort();
        holders.dedup();

        let contracts = [Some(deployment.market), deployment.distributor];
        holders.retain(|h| !contracts.contains(&Some(*h)));
        let mut wallets = U256::ZERO;
        for holder in &holders {
            wallets += token.balanceOf(*holder).call().await?;
        }

        // Accounts the market may owe: every depositor, customer and master, and open deals.
        let mut accounts: Vec<Address> = Vec::new();
        let mut deals: Vec<U256> = Vec::new();
        for log in provider.get_logs(&logs(deployment.market)).await? {
            if let Ok(e) = Market::Deposited::decode_log(&log.inner) {
                accounts.push(e.data.account);
            } else if let Ok(e) = Market::DealOpened::decode_log(&log.inner) {
                accounts.extend([e.data.customer, e.data.master]);
                deals.push(e.data.dealId);
            }
        }
        accounts.sort();
        accounts.dedup();
        let mut owes = market.accruedFees().call().await?;
        for account in &accounts {
            owes += market.balanceOf(*account).call().await? + market.earningsOf(*account).call().await?;
        }
        for deal in deals {
            let d = market.getDeal(deal).call().await?;
            if d.active {
                owes += U256::from(d.deposit);
            }
        }

        let (distributor, distributor_owes) = match deployment.distributor {
            Some(address) => {
                // Each account's payments add up to its latest cumulative claim.
                let claimed: Snm = client.distributor()?.claimed_total().await?;
                let funded = RewardDistributor::new(address, provider).totalFunded().call().await?;
                (token.balanceOf(address).call().await?, funded.saturating_sub(claimed.wei()))
            }
            None => (U256::ZERO, U256::ZERO),
        };
        Ok(Self {
            supply: Snm::from_wei(token.totalSupply().call().await?),
            wallets: Snm::from_wei(wallets),
            market: Snm::from_wei(token.balanceOf(deployment.market).call().await?),
            market_owes: Snm::from_wei(owes),
            distributor: Snm::from_wei(distributor),
            distributor_owes: Snm::from_wei(distributor_owes),
            holders: holders.len(),
        })
    }

    /// Whether everything adds up: supply = wallets + market + distributor, and each contract holds
    /// exactly what it owes.
    pub fn balances(&self) -> bool {
        let held = self.wallets.wei() + self.market.wei() + self.distributor.wei();
        held == self.supply.wei()
            && self.market == self.market_owes
            && self.distributor == self.distributor_owes
    }
}

impl fmt::Display for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = |ok: bool| if ok { "ok" } else { "MISMATCH" };
        let held = Snm::from_wei(self.wallets.wei() + self.market.wei() + self.distributor.wei());
        writeln!(f, "  minted                   {}", self.supply)?;
        writeln!(f, "  in {:>3} wallets           {}", self.holders, self.wallets)?;
        writeln!(
            f,
            "  in the market            {}  (owes {}: {})",
            self.market,
            self.market_owes,
            verdict(self.market == self.market_owes)
        )?;
        writeln!(
            f,
            "  in the distributor       {}  (owes {}: {})",
            self.distributor,
            self.distributor_owes,
            verdict(self.distributor == self.distributor_owes)
        )?;
        write!(f, "  accounted for            {held}: {}", verdict(self.balances()))
    }
}
