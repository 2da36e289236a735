//! The token service: SNM balances, allowances, approvals and transfers, and EIP-2612 permits (an
//! allowance signed off chain and carried by the transaction that spends it).

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    signers::Signer,
    sol_types::{Eip712Domain, SolStruct},
};
use serde::{Deserialize, Serialize};

use crate::{
    Client, Error, Funds,
    bindings::SNMToken::{self, SNMTokenInstance},
    error::{Target, from_contract},
    units::Snm,
};

/// How long a permit the SDK signs stays valid, in block time.
const PERMIT_VALIDITY: Duration = Duration::from_secs(3_600);

/// A signed EIP-2612 permit: `owner` allows `spender` to take `value` of its tokens until
/// `deadline`, split as the contracts take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permit {
    /// Whose tokens.
    pub owner: Address,
    /// Who may take them.
    pub spender: Address,
    /// How much.
    pub value: Snm,
    /// Block time after which the token refuses it.
    pub deadline: u64,
    /// The signature's recovery byte (27 or 28).
    pub v: u8,
    /// The signature's `r`.
    pub r: B256,
    /// The signature's `s`.
    pub s: B256,
}

mod eip2612 {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        /// EIP-2612's signed message.
        struct Permit {
            address owner;
            address spender;
            uint256 value;
            uint256 nonce;
            uint256 deadline;
        }
    }
}

/// The SNM token (see the [module documentation](crate::services)).
#[derive(Clone, Debug)]
pub struct TokenService<P> {
    client: Client<P>,
    address: Address,
}

impl<P> TokenService<P> {
    /// The token of `client`'s deployment.
    pub fn new(client: Client<P>) -> Self {
        let address = client.deployment().token;
        Self { client, address }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        &self.client
    }
}

impl<P: Provider + Clone> TokenService<P> {
    /// The token's generated binding, for what the service does not cover.
    pub fn contract(&self) -> SNMTokenInstance<&P> {
        SNMToken::new(self.address, self.client.provider())
    }

    /// `account`'s tokens.
    pub async fn balance(&self, account: Address) -> Result<Snm, Error> {
        let balance = self.contract().balanceOf(account).call().await;
        balance.map(Snm::from_wei).map_err(|e| from_contract(e, Target::Token))
    }

    /// What `spender` may take from `owner`'s tokens.
    pub async fn allowance(&self, owner: Address, spender: Address) -> Result<Snm, Error> {
        let allowance = self.contract().allowance(owner, spender).call().await;
        allowance.map(Snm::from_wei).map_err(|e| from_contract(e, Target::Token))
    }

    /// Lets `spender` take up to `amount` of the sender's tokens (ERC-20 `approve`; replaces the
    /// previous allowance).
    pub async fn approve(&self, spender: Address, amount: Snm) -> Result<(), Error> {
        let call = SNMToken::approveCall { spender, value: amount.wei() };
        self.client.send_to(Target::Token, call).await.map(drop)
    }

    /// [`Self::approve`] for the market, the usual spender: its deposits and quick buys take the
    /// sender's tokens through this allowance.
    pub async fn approve_market(&self, amount: Snm) -> Result<(), Error> {
        self.approve(self.client.deployment().market, amount).await
    }

    /// Sends `amount` tokens to `to`. Checked first: [`Error::InsufficientFunds`] with
    /// [`Funds::TokenBalance`].
    pub async fn transfer(&self, to: Address, amount: Snm) -> Result<(), Error> {
        let sender = self.client.sender();
        self.client.check_funds(Funds::TokenBalance, self.balance(sender).await?, amount)?;
        self.client.send_to(Target::Token, SNMToken::transferCall { to, value: amount.wei() }).await.map(drop)
    }

    /// An EIP-2612 permit of the sender for `spender` over `value` tokens, signed by `signer`
    /// (which must be the sender's key: [`Error::PermitSigner`] otherwise), valid for an hour of
    /// block time. Nothing is sent: pass it to a call that takes a permit, or to
    /// [`Self::permit`].
    pub async fn sign_permit<S: Signer + Send + Sync + ?Sized>(
        &self,
        signer: &S,
        spender: Address,
        value: Snm,
    ) -> Result<Permit, Error> {
        let owner = self.client.sender();
        if signer.address() != owner {
            return Err(Error::PermitSigner { signer: signer.address(), owner });
        }
        let token = self.contract();
        let (domain, nonce, now) = tokio::try_join!(
            async { token.eip712Domain().call().await.map_err(|e| from_contract(e, Target::Token)) },
            async { token.nonces(owner).call().await.map_err(|e| from_contract(e, Target::Token)) },
            self.client.now(),
        )?;
        let deadline = now.saturating_add(PERMIT_VALIDITY.as_secs());
        let message =
            eip2612::Permit { owner, spender, value: value.wei(), nonce, deadline: U256::from(deadline) };
        let domain = Eip712Domain::new(
            Some(domain.name.into()),
            Some(domain.version.into()),
            Some(domain.chainId),
            Some(domain.verifyingContract),
            None,
        );
        let signature = signer.sign_hash(&message.eip712_signing_hash(&domain)).await?;
        Ok(Permit {
            owner,
            spender,
            value,
            deadline,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        })
    }

    /// Sends a signed permit to the token on its own (EIP-2612 `permit`; anyone may, paying the
    /// gas): `permit.spender` may then take `permit.value` of `permit.owner`'s tokens.
    pub async fn permit(&self, permit: &Permit) -> Result<(), Error> {
        let call = SNMToken::permitCall {
            owner: permit.owner,
            spender: permit.spender,
            value: permit.value.wei(),
            deadline: U256::from(permit.deadline),
            v: permit.v,
            r: permit.r,
            s: permit.s,
        };
        self.client.send_to(Target::Token, call).await.map(drop)
    }

    /// Checks that the sender holds `amount` tokens and, without a permit, has allowed `spender`
    /// to take them ([`Error::InsufficientFunds`] otherwise).
    pub(crate) async fn check_spend(
        &self,
        amount: Snm,
        spender: Address,
        with_permit: bool,
    ) -> Result<(), Error> {
        let sender = self.client.sender();
        let (balance, allowance) = tokio::try_join!(self.balance(sender), async {
            if with_permit { Ok(amount) } else { self.allowance(sender, spender).await }
        })?;
        self.client.check_funds(Funds::TokenBalance, balance, amount)?;
        self.client.check_funds(Funds::Allowance, allowance, amount)
    }
}
