//! Every custom error of the contracts as a sentence a person understands: what was refused, with
//! the error's fields decoded (amounts in SNM, prices in USD an hour, rates in SNM per USD, block
//! times with their UTC date, durations), and what to do about it where there is something to do.
//!
//! These are the `Display` of [`Error::Market`](crate::Error::Market),
//! [`Error::Oracle`](crate::Error::Oracle), [`Error::Distributor`](crate::Error::Distributor) and
//! [`Error::Token`](crate::Error::Token). Each `match` lists every variant of the generated enum
//! (no catch-all), so a custom error added to a contract does not compile until it has its
//! sentence.

use alloy::primitives::{Address, B256, U256};

use crate::{
    bindings::{
        Market::MarketErrors, PriceOracle::PriceOracleErrors, RewardDistributor::RewardDistributorErrors,
        SNMToken::SNMTokenErrors,
    },
    block_time::BlockTime,
    market::DealId,
    units::{NetFlags, Snm, SnmPerUsd, UsdPerSecond, fixed::Fixed, format_duration},
};

/// An amount in wei, as SNM.
fn snm(wei: U256) -> Snm {
    Snm::from_wei(wei)
}

/// A price in 10^-18 USD per second, per hour (as people compare prices).
fn per_hour(scaled: U256) -> String {
    UsdPerSecond::from_scaled(scaled).to_per_hour().to_string()
}

/// A block time in unix seconds, with its UTC date.
fn time(seconds: impl TryInto<u64>) -> BlockTime {
    BlockTime(seconds.try_into().unwrap_or(u64::MAX))
}

/// Whole seconds as a duration (`1d2h`).
fn duration(seconds: U256) -> String {
    format_duration(std::time::Duration::from_secs(seconds.saturating_to()))
}

/// Basis points as a percentage (`2000` is `20 %`, `1250` is `12.5 %`).
fn percent(bps: U256) -> String {
    format!("{} %", Fixed::new(bps, 2))
}

/// An order id; 0 is the order being placed.
fn order(id: U256) -> String {
    DealId::from_word(id).to_string()
}

/// A root, or that there is none (zero).
fn root_or_none(root: B256) -> String {
    if root.is_zero() { "none".to_owned() } else { root.to_string() }
}

/// The most the market holds in one balance or deal: amounts are stored in 96 bits.
fn max_stored() -> Snm {
    Snm::from_wei(U256::from(u128::MAX >> 32))
}

/// The sentence of one of the market's custom errors (its escrow and identity parts included).
pub(crate) fn market(error: &MarketErrors) -> String {
    use MarketErrors as E;
    match error {
        E::AlreadyWorker(e) => format!(
            "{} is already a worker of {}: it leaves (removeWorker) before it asks to join another master",
            e.worker, e.master
        ),
        E::AmountTooLarge(e) => format!(
            "{} is more than the market holds in one balance or deal (at most {})",
            snm(e.amount),
            max_stored()
        ),
        E::BlacklistedBy(e) => format!(
            "{} has blacklisted {}: no deal opens between them until {} lifts it (setBlacklist)",
            e.blocker, e.blocked, e.blocker
        ),
        E::CloseNotAllowed(e) => close_not_allowed(DealId::from_word(e.dealId), e.caller, None),
        E::CounterpartyMismatch(_) => {
            "the ask or the bid is reserved for another counterparty: take an ask open to you (or reserved for \
             you), with a master the bid accepts"
                .to_owned()
        }
        E::DealNotActive(e) => {
            format!("deal {} is not running: it was closed, or no deal has this id", order(e.dealId))
        }
        E::DepositBelowRunway(e) => format!(
            "a deposit of {} is below the {} that the minimum runway needs at the ask's price and the current \
             rate: deposit at least {}",
            snm(e.deposit),
            snm(e.required),
            snm(e.required)
        ),
        E::DurationOutOfRange(e) if e.duration.is_zero() => {
            "the ask does not accept spot deals (it has a longest term): buy a fixed term within its range"
                .to_owned()
        }
        E::DurationOutOfRange(e) => format!(
            "the ask does not accept a term of {}: choose one between its shortest and longest terms",
            duration(e.duration)
        ),
        E::FeeTooHigh(e) => format!(
            "a fee of {} basis points ({}) is above the market's maximum of {} basis points ({})",
            e.feeBps,
            percent(e.feeBps),
            e.maxFeeBps,
            percent(e.maxFeeBps)
        ),
        E::FlagsMissing(e) => {
            let (required, offered) = (flags(e.required), flags(e.offered));
            format!(
                "the machine lacks network flags the bid requires: it has {offered}, the bid requires {required} \
                 (missing {})",
                required.difference(offered)
            )
        }
        E::InvalidAskSignature(e) => format!(
            "the signed ask's signature is not its master's ({}): signed by another key, a field changed \
             since it was signed, a malleable signature, or the master's wallet refused it",
            e.master
        ),
        E::StaleAskNonce(e) => format!(
            "the ask was signed for nonce {} of worker {}, whose nonce is now {}: it was taken, cancelled, \
             or the worker left its master since; ask the supplier for a fresh one",
            e.nonce, e.worker, e.current
        ),
        E::InsufficientBalance(e) => format!(
            "{} has {} free in the market, {} needed: deposit {} more first",
            e.account,
            snm(e.available),
            snm(e.needed),
            snm(e.needed.saturating_sub(e.available))
        ),
        E::InsufficientEarnings(e) => format!(
            "{} has {} of earnings in the market, {} asked for: withdraw at most {}",
            e.account,
            snm(e.available),
            snm(e.needed),
            snm(e.available)
        ),
        E::InvalidChange(_) => "the proposed terms are refused: the price must be above zero (and below 2^80 \
                                 per second); a spot deal stays spot (no end time), a fixed-term deal needs an \
                                 end time in the future"
            .to_owned(),
        E::InvalidEndpoint(e) => {
            format!("an endpoint of {} bytes is refused: announce 1 to 256 bytes (such as `203.0.113.7:3128`)", e.length)
        }
        E::InvalidOrder(_) => "the order is refused: an ask needs a price above zero (below 2^80 per second), a \
                               shortest term not above its longest, an expiry in the future or none; a bid needs \
                               a maximum price and a deposit above zero and an expiry in the future or none"
            .to_owned(),
        E::InvalidRunway(_) => "the minimum runway must be at least one second".to_owned(),
        E::MarketPaused(_) => "the market is paused: no deal opens until its owner resumes it (running deals \
                               still settle, close, top up and pay out)"
            .to_owned(),
        E::NoFees(_) => "there are no accrued fees to withdraw".to_owned(),
        E::NoPendingChange(e) => format!(
            "deal {} has no pending change with these terms (to accept: the exact proposed price and end time; to \
             cancel: one the sender proposed)",
            order(e.dealId)
        ),
        E::NoWorkerRequest(e) => format!(
            "{} has not asked to join {}: the worker asks first (requestWorker), then the master confirms",
            e.worker, e.master
        ),
        E::NotDealParty(e) => format!(
            "{} is not a party of deal {}: only its customer, its master, or its worker while still a confirmed \
             worker of that master may do this",
            e.caller,
            order(e.dealId)
        ),
        E::NotDealSupplier(e) => format!(
            "{} does not act for the supplier of deal {}: only its master, or its worker while still a confirmed \
             worker of that master, may end it unserved",
            e.caller,
            order(e.dealId)
        ),
        E::NotOrderOwner(e) if e.orderId.is_zero() => format!(
            "{} may not place this order: an ask is placed by its master or its worker, a bid by its customer",
            e.caller
        ),
        E::NotOrderOwner(e) => format!(
            "{} may not cancel order {}: an ask is cancelled by its master or its worker, a bid by its customer",
            e.caller,
            order(e.orderId)
        ),
        E::NotWorkerOf(e) => format!("{} is not a worker of {} (confirmed or pending)", e.worker, e.master),
        E::OrderExpired(e) => format!(
            "order {} expired at block time {}: take another order",
            order(e.orderId),
            time(e.expiry)
        ),
        E::OrderMismatch(e) => format!(
            "order {} is not open with these fields: it was taken, cancelled, or never placed as given; sync the \
             order book and pick again",
            order(e.orderId)
        ),
        E::OwnableInvalidOwner(e) => format!("{} cannot own the market", e.owner),
        E::OwnableUnauthorizedAccount(e) => {
            format!("{} is not the market's owner: only its operator may do this", e.account)
        }
        E::PriceTooHigh(e) => format!(
            "the ask's price of {} is above the bid's maximum of {}",
            per_hour(e.price),
            per_hour(e.maxPrice)
        ),
        E::RegionMismatch(e) => {
            format!("the bid requires region {}, the machine is in region {}", e.required, e.offered)
        }
        E::ResourcesTooLow(_) => {
            "the machine has less of some resource (CPU, memory, disk, GPU, bandwidth) than the bid requires"
                .to_owned()
        }
        E::ServedUntilInFuture(e) => format!(
            "a deal cannot be said served up to block time {}, after the block's time {}: give a time not after \
             the last block's",
            time(e.servedUntil),
            time(e.blockTime)
        ),
        E::SafeERC20FailedOperation(e) => format!("the token {} refused the market's transfer", e.token),
        E::WorkerNotConfirmed(e) => format!(
            "{} is not a confirmed worker of {}: the worker asks to join (requestWorker), then the master confirms \
             (confirmWorker)",
            e.worker, e.master
        ),
        E::ZeroAddress(_) => "an address is zero: a recipient, a blacklisted account, the treasury of a fee \
                              above zero, or a contract the market uses"
            .to_owned(),
        E::ZeroAmount(_) => "the amount is zero: deposit, top up or withdraw more than nothing".to_owned(),
        E::ZeroMaster(_) => "a worker cannot ask to join the zero address".to_owned(),
    }
}

/// The sentence of the market's `CloseNotAllowed`, with the deal's end when it is known.
pub(crate) fn close_not_allowed(deal: DealId, caller: Address, end_time: Option<u64>) -> String {
    let rule = "a supplier closes a spot deal at any time and a fixed-term deal only from its end on; the \
                customer closes at any time; anyone closes a deal whose deposit cannot pay another second; a supplier that \
                cannot serve a deal ends it at any time, forfeiting the unserved seconds (endDealUnserved)";
    match end_time {
        Some(end) => format!(
            "{caller} may not close deal {deal} yet: a supplier may close a fixed-term deal only after its end, at \
             block time {} ({rule})",
            time(end)
        ),
        None => format!("{caller} may not close deal {deal} now: {rule}"),
    }
}

/// A flags word as [`NetFlags`].
fn flags(word: U256) -> NetFlags {
    NetFlags::from_bits_retain(word.saturating_to())
}

/// The sentence of one of the price oracle's custom errors.
pub(crate) fn oracle(error: &PriceOracleErrors) -> String {
    use PriceOracleErrors as E;
    match error {
        E::InvalidMaxAge(_) => "a rate's maximum age must be from one second to 2^32 seconds".to_owned(),
        E::InvalidMaxChange(_) => {
            "the largest change of one report must be from 1 to 65,535 basis points".to_owned()
        }
        E::NotReporter(e) => {
            format!("{} may not report the rate: the oracle's owner allows reporters (setReporter)", e.caller)
        }
        E::OwnableInvalidOwner(e) => format!("{} cannot own the price oracle", e.owner),
        E::OwnableUnauthorizedAccount(e) => {
            format!("{} is not the price oracle's owner: only its operator may do this", e.account)
        }
        E::RateChangeTooLarge(e) => format!(
            "a rate of {} is too far from the last one, {}: one report changes it by at most {}; report in steps",
            SnmPerUsd::from_scaled(e.newRate),
            SnmPerUsd::from_scaled(e.previousRate),
            percent(e.maxChangeBps)
        ),
        E::StaleRate(e) => format!(
            "the SNM/USD rate was reported at block time {}, more than its maximum age of {} ago: deals do not \
             open, settle or change until a reporter reports a new rate (a customer can still close)",
            time(e.updatedAt),
            duration(e.maxAge)
        ),
        E::ZeroRate(_) => "a rate must be above zero SNM per USD (and below 2^128 scaled)".to_owned(),
        E::ZeroReporter(_) => "the zero address cannot be a reporter".to_owned(),
    }
}

/// The sentence of one of the reward distributor's custom errors.
pub(crate) fn distributor(error: &RewardDistributorErrors) -> String {
    use RewardDistributorErrors as E;
    match error {
        E::EmptyBatch(_) => "a batch claim needs at least one claim".to_owned(),
        E::InvalidProof(e) => format!(
            "the proof of {} for a cumulative {} does not lead to the accepted root: take the amount and proof \
             from the accepted round's Merkle dump",
            e.account,
            snm(e.cumulativeAmount)
        ),
        E::MerkleProofInvalidMultiproof(_) => "the multiproof's leaves, proof hashes and flags do not fit \
                                                 together (leaves + proof hashes = flags + 1): make it again from \
                                                 the round's tree"
            .to_owned(),
        E::NotProposed(e) => format!(
            "root {} is not the proposed one (proposed: {})",
            e.root,
            root_or_none(e.pendingRoot)
        ),
        E::NothingToClaim(e) => format!(
            "{} has already claimed {}, all of its cumulative {}: nothing is left to claim until a later round \
             raises it",
            e.account,
            snm(e.alreadyClaimed),
            snm(e.cumulativeAmount)
        ),
        E::OwnableInvalidOwner(e) => format!("{} cannot own the reward distributor", e.owner),
        E::OwnableUnauthorizedAccount(e) => {
            format!("{} is not the reward distributor's owner: only the campaign's operator may do this", e.account)
        }
        E::ProposalNotReady(e) => format!(
            "root {} can be accepted only from block time {} (the distributor's delay): wait until then",
            e.root,
            time(e.acceptableAt)
        ),
        E::ProposalPending(e) => format!(
            "root {} is already proposed: accept or cancel it before proposing another",
            e.pendingRoot
        ),
        E::RootNotAccepted(e) => format!(
            "the proof of {} for a cumulative {} is of root {}, proposed but not accepted yet: claim from block \
             time {} on, once it is accepted",
            e.account,
            snm(e.cumulativeAmount),
            e.pendingRoot,
            time(e.acceptableAt)
        ),
        E::RootUnderfunded(e) => format!(
            "root {} promises {} in all, but the distributor was funded {}: fund {} more before accepting it",
            e.root,
            snm(e.total),
            snm(e.funded),
            snm(e.total.saturating_sub(e.funded))
        ),
        E::SafeERC20FailedOperation(e) => format!("the token {} refused the distributor's transfer", e.token),
        E::StaleProof(e) => format!(
            "the proof of {} for a cumulative {} is of round {} (root {}), since replaced by root {}: claim with \
             the latest round's Merkle dump",
            e.account,
            snm(e.cumulativeAmount),
            e.staleRound,
            e.staleRoot,
            e.currentRoot
        ),
        E::TotalDecreased(e) => format!(
            "a total of {} is below the accepted root's {}: cumulative totals never decrease",
            snm(e.total),
            snm(e.currentTotal)
        ),
        E::ZeroAmount(_) => "the amount is zero: fund more than nothing".to_owned(),
        E::ZeroRoot(_) => "the root is zero: propose the root of a round's Merkle tree".to_owned(),
        E::ZeroToken(_) => "the distributor's token cannot be the zero address".to_owned(),
    }
}

/// The sentence of one of the SNM token's custom errors (ERC-20 and EIP-2612).
pub(crate) fn token(error: &SNMTokenErrors) -> String {
    use SNMTokenErrors as E;
    match error {
        E::ECDSAInvalidSignature(_) => "the permit's signature is not valid: sign it again".to_owned(),
        E::ECDSAInvalidSignatureLength(e) => {
            format!("the permit's signature has {} bytes, 65 expected: sign it again", e.length)
        }
        E::ECDSAInvalidSignatureS(e) => {
            format!("the permit's signature has a malleable s value ({}): sign it again", e.s)
        }
        E::ERC20InsufficientAllowance(e) => format!(
            "{} may take {} of the owner's tokens, {} needed: approve at least {} (or pay with a permit)",
            e.spender,
            snm(e.allowance),
            snm(e.needed),
            snm(e.needed)
        ),
        E::ERC20InsufficientBalance(e) => format!(
            "{} holds {}, {} needed: it needs {} more",
            e.sender,
            snm(e.balance),
            snm(e.needed),
            snm(e.needed.saturating_sub(e.balance))
        ),
        E::ERC20InvalidApprover(e) => format!("{} cannot approve a spender (the zero address)", e.approver),
        E::ERC20InvalidReceiver(e) => format!("{} cannot receive tokens (the zero address)", e.receiver),
        E::ERC20InvalidSender(e) => format!("{} cannot send tokens (the zero address)", e.sender),
        E::ERC20InvalidSpender(e) => format!("{} cannot be a spender (the zero address)", e.spender),
        E::ERC2612ExpiredSignature(e) => {
            format!("the permit expired at block time {}: sign a new one", time(e.deadline))
        }
        E::ERC2612InvalidSigner(e) => format!(
            "the permit was signed by {}, not by the tokens' owner {}: sign it with the owner's key",
            e.signer, e.owner
        ),
        E::InvalidAccountNonce(e) => format!(
            "the permit's nonce is not {}'s current one ({}): it was used or replaced; sign a new one",
            e.account, e.currentNonce
        ),
        E::InvalidShortString(_) => "the token's name does not fit a short string".to_owned(),
        E::StringTooLong(e) => format!("`{}` is too long for a short string (31 bytes at most)", e.str),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use alloy::sol_types::SolInterface;

    use super::*;
    use crate::bindings::{Market, PriceOracle, RewardDistributor, SNMToken};

    /// Every error of `E` with every field zero (an empty string for a `string`): one per selector.
    fn every<E: SolInterface>(selectors: &[[u8; 4]]) -> Vec<E> {
        // Zero words decode every static field; a dynamic field's offset 0 points at a zero length.
        let zeros = [0u8; 32 * 8];
        selectors
            .iter()
            .map(|selector| {
                E::abi_decode_raw(*selector, &zeros)
                    .unwrap_or_else(|e| panic!("{} {selector:?} does not decode: {e}", E::NAME))
            })
            .collect()
    }

    /// Each error has its own sentence: none is empty, none is a Debug dump, no two are alike (so no
    /// catch-all answers for several).
    fn check_sentences<E: SolInterface + std::fmt::Debug>(selectors: &[[u8; 4]], sentence: fn(&E) -> String) {
        let errors = every::<E>(selectors);
        assert_eq!(errors.len(), E::COUNT, "{}: every selector", E::NAME);
        let mut seen = HashSet::new();
        for error in &errors {
            let text = sentence(error);
            let debug = format!("{error:?}");
            let variant = debug.split('(').next().unwrap_or_default();
            assert!(text.len() > 20, "{debug}: `{text}` is no sentence");
            assert!(!text.contains(variant) || variant.is_empty(), "{debug}: `{text}` names the variant");
            assert!(!text.contains("{ "), "{debug}: `{text}` looks like a Debug dump");
            assert!(seen.insert(text.clone()), "{debug}: `{text}` is another error's sentence too");
        }
    }

    #[test]
    fn every_custom_error_of_every_contract_has_a_sentence() {
        check_sentences(MarketErrors::SELECTORS, market);
        check_sentences(PriceOracleErrors::SELECTORS, oracle);
        check_sentences(RewardDistributorErrors::SELECTORS, distributor);
        check_sentences(SNMTokenErrors::SELECTORS, token);
    }

    fn whole(snm: u64) -> U256 {
        Snm::from_whole(snm).wei()
    }

    #[test]
    fn sentences_decode_the_fields() {
        let runway = MarketErrors::DepositBelowRunway(Market::DepositBelowRunway {
            deposit: whole(1),
            required: whole(90),
        });
        assert_eq!(
            market(&runway),
            "a deposit of 1 SNM is below the 90 SNM that the minimum runway needs at the ask's price and the \
             current rate: deposit at least 90 SNM"
        );
        // 0.00025 USD a second is 0.9 USD an hour.
        let price = MarketErrors::PriceTooHigh(Market::PriceTooHigh {
            price: U256::from(250_000_000_000_000u64),
            maxPrice: U256::from(125_000_000_000_000u64),
        });
        assert_eq!(market(&price), "the ask's price of 0.9 USD/h is above the bid's maximum of 0.45 USD/h");
        let close = MarketErrors::CloseNotAllowed(Market::CloseNotAllowed {
            dealId: U256::from(21),
            caller: Address::repeat_byte(0x11),
        });
        assert!(
            market(&close).starts_with(
                "0x1111111111111111111111111111111111111111 may not close deal 21 now: a supplier closes a spot \
                 deal at any time and a fixed-term deal only from its end on"
            ),
            "{}",
            market(&close)
        );
        assert_eq!(
            close_not_allowed(DealId(21), Address::repeat_byte(0x11), Some(1_700_000_000))
                .split(" (a supplier")
                .next(),
            Some(
                "0x1111111111111111111111111111111111111111 may not close deal 21 yet: a supplier may close a \
                 fixed-term deal only after its end, at block time 1700000000 (2023-11-14 22:13:20 UTC)"
            )
        );
        let stale = PriceOracleErrors::StaleRate(PriceOracle::StaleRate {
            updatedAt: U256::from(1_700_000_000u64),
            maxAge: U256::from(3_600),
        });
        assert!(
            oracle(&stale).starts_with(
                "the SNM/USD rate was reported at block time 1700000000 (2023-11-14 22:13:20 UTC), more than its \
                 maximum age of 1h ago"
            ),
            "{}",
            oracle(&stale)
        );
        let change = PriceOracleErrors::RateChangeTooLarge(PriceOracle::RateChangeTooLarge {
            previousRate: whole(100),
            newRate: whole(1_000),
            maxChangeBps: U256::from(2_000),
        });
        assert_eq!(
            oracle(&change),
            "a rate of 1000 SNM/USD is too far from the last one, 100 SNM/USD: one report changes it by at most \
             20 %; report in steps"
        );
        let nothing = RewardDistributorErrors::NothingToClaim(RewardDistributor::NothingToClaim {
            account: Address::repeat_byte(0x22),
            cumulativeAmount: whole(50),
            alreadyClaimed: whole(50),
        });
        assert_eq!(
            distributor(&nothing),
            "0x2222222222222222222222222222222222222222 has already claimed 50 SNM, all of its cumulative 50 SNM: \
             nothing is left to claim until a later round raises it"
        );
        let allowance = SNMTokenErrors::ERC20InsufficientAllowance(SNMToken::ERC20InsufficientAllowance {
            spender: Address::repeat_byte(0x33),
            allowance: U256::ZERO,
            needed: whole(200),
        });
        assert_eq!(
            token(&allowance),
            "0x3333333333333333333333333333333333333333 may take 0 SNM of the owner's tokens, 200 SNM needed: \
             approve at least 200 SNM (or pay with a permit)"
        );
    }

    #[test]
    fn percentages_and_flags_read_as_people_write_them() {
        assert_eq!(percent(U256::from(2_000)), "20 %");
        assert_eq!(percent(U256::from(1_250)), "12.5 %");
        assert_eq!(percent(U256::from(1)), "0.01 %");
        let missing = MarketErrors::FlagsMissing(Market::FlagsMissing {
            required: U256::from(3),
            offered: U256::from(1),
        });
        assert_eq!(
            market(&missing),
            "the machine lacks network flags the bid requires: it has PUBLIC_IP, the bid requires PUBLIC_IP | \
             INCOMING (missing INCOMING)"
        );
    }
}
