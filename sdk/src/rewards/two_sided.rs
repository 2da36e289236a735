//! Traffic checked from both sides: a customer's own usage report of the deals it bought, in the
//! usage format and signed (EIP-191) beside it in `<report>.sig`; the campaign's tolerance; and
//! the deals whose figures differ, listed in the round.

use std::{
    fmt,
    net::IpAddr,
    path::{Path, PathBuf},
    str::FromStr,
};

use alloy::{
    primitives::{Address, Bytes as RawBytes, Signature, keccak256},
    signers::Signer,
};
use serde::{Deserialize, Serialize};

use super::error::RewardsError;
use crate::units::Bytes;

/// How far the supplier's and the customer's figures of a deal may differ before the deal is
/// listed: a percentage with up to two decimals (`"5%"`, `"0.5%"`), kept in basis points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tolerance(u32);

/// A text that is not a [`Tolerance`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a tolerance: expected a percentage from 0% to 100% with up to two decimals (\"5%\")")]
pub struct ToleranceError(pub String);

impl Tolerance {
    /// `basis_points` hundredths of a percent.
    pub const fn from_basis_points(basis_points: u32) -> Self {
        Self(basis_points)
    }

    /// The basis points.
    pub const fn basis_points(self) -> u32 {
        self.0
    }

    /// Whether `a` and `b` differ by more than the tolerance, relative to the larger:
    /// `|a − b| × 10,000 > basis_points × max(a, b)`, exactly.
    pub fn exceeded(self, a: u128, b: u128) -> bool {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let gap = alloy::primitives::U256::from(high - low) * alloy::primitives::U256::from(10_000u32);
        gap > alloy::primitives::U256::from(high) * alloy::primitives::U256::from(self.0)
    }
}

impl FromStr for Tolerance {
    type Err = ToleranceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ToleranceError(text.to_owned());
        let number = text.trim().strip_suffix('%').ok_or_else(bad)?.trim();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty()
            || fraction.len() > 2
            || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        let points = whole.checked_mul(100).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)?;
        if points > 10_000 {
            return Err(bad());
        }
        Ok(Self(points))
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 % 100 {
            0 => write!(f, "{}%", self.0 / 100),
            cents if cents % 10 == 0 => write!(f, "{}.{}%", self.0 / 100, cents / 10),
            cents => write!(f, "{}.{cents:02}%", self.0 / 100),
        }
    }
}

impl Serialize for Tolerance {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Tolerance {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// What a campaign that checks traffic from both sides pays for a deal only its supplier reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplierOnly {
    /// The supplier's figure, as without customer reports.
    #[default]
    Paid,
    /// Nothing for its traffic (the IP still counts).
    Unpaid,
}

impl SupplierOnly {
    /// Whether this is the default (left out of round files).
    pub fn is_paid(&self) -> bool {
        *self == Self::Paid
    }
}

/// A deal's two figures, listed when they differ by more than the tolerance or when one side did
/// not report it. A deal is its supplier's payout account, worker IP and period start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discrepancy {
    /// The supplier's payout account.
    pub account: Address,
    /// The worker IP.
    pub ip: IpAddr,
    /// The deal's period start.
    pub period_start: u64,
    /// The supplier's figure (`None`: only the customer reported the deal).
    pub supplier_bytes: Option<Bytes>,
    /// The customer's figure (`None`: only the supplier reported the deal).
    pub customer_bytes: Option<Bytes>,
    /// What was paid: the smaller figure; the supplier's or nothing for a supplier-only deal, per
    /// the campaign; nothing for a customer-only one.
    pub paid_bytes: Bytes,
}

/// The signature file beside a customer's report (`<report>.sig`, JSON): the customer's address
/// and its EIP-191 signature (`personal_sign`) of the 32-byte keccak-256 of the report's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSignature {
    /// The customer who signed.
    pub signer: Address,
    /// The 65-byte signature.
    pub signature: RawBytes,
}

/// The signature file of `report`: `report` with `.sig` appended to its name.
pub fn signature_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

impl ReportSignature {
    /// Signs the report at `report` with the customer's key and writes `<report>.sig`.
    pub async fn sign_file<S: Signer + Send + Sync + ?Sized>(
        signer: &S,
        report: &Path,
    ) -> Result<Self, RewardsError> {
        let bytes = std::fs::read(report).map_err(|e| RewardsError::io(report, e))?;
        let signature = signer
            .sign_message(keccak256(&bytes).as_slice())
            .await
            .map_err(|source| RewardsError::SignReport { file: report.to_owned(), source })?;
        let signed =
            Self { signer: signer.address(), signature: RawBytes::copy_from_slice(&signature.as_bytes()) };
        let path = signature_path(report);
        let text =
            serde_json::to_vec(&signed).map_err(|e| RewardsError::io(&path, std::io::Error::other(e)))?;
        std::fs::write(&path, text).map_err(|e| RewardsError::io(&path, e))?;
        Ok(signed)
    }

    /// Reads `<report>.sig` and checks it signs `report`'s bytes as they are; returns the signer.
    pub fn verify_file(report: &Path) -> Result<Address, RewardsError> {
        let path = signature_path(report);
        let text = std::fs::read(&path).map_err(|e| RewardsError::io(&path, e))?;
        let signed: Self =
            serde_json::from_slice(&text).map_err(|e| RewardsError::io(&path, std::io::Error::other(e)))?;
        let bytes = std::fs::read(report).map_err(|e| RewardsError::io(report, e))?;
        let bad = |source| RewardsError::ReportSignature { file: report.to_owned(), source };
        let signature = Signature::try_from(signed.signature.as_ref()).map_err(bad)?;
        let recovered = signature.recover_address_from_msg(keccak256(&bytes).as_slice()).map_err(bad)?;
        if recovered != signed.signer {
            return Err(RewardsError::ReportSigner {
                file: report.to_owned(),
                claimed: signed.signer,
                recovered,
            });
        }
        Ok(recovered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_read_in_percent_and_compare_exactly() {
        assert_eq!("5%".parse(), Ok(Tolerance::from_basis_points(500)));
        assert_eq!("0.5%".parse::<Tolerance>().map(|t| t.to_string()), Ok("0.5%".to_owned()));
        assert_eq!("12.34%".parse::<Tolerance>().map(Tolerance::basis_points), Ok(1234));
        for bad in ["5", "%", "-1%", "1.234%", "101%", "a%", ".5%"] {
            assert!(bad.parse::<Tolerance>().is_err(), "{bad}");
        }
        let five = Tolerance::from_basis_points(500);
        assert!(!five.exceeded(100, 95), "5 of 100 is within 5%");
        assert!(five.exceeded(100, 94));
        assert!(five.exceeded(0, 1) && !five.exceeded(0, 0));
    }
}
