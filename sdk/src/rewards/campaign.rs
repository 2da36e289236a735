//! A campaign's rules, read from a TOML file.

use std::path::Path;

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};

use super::{
    availability::OnlineTime,
    two_sided::{SupplierOnly, Tolerance},
};
use super::{error::RewardsError, input_error::Location, line_rate::LineRate};
use crate::units::{Bytes, Snm, SnmPerUsd, Usd, mul_div_down};

/// The rules of a reward campaign, fixed for all its rounds.
///
/// TOML file (the first five keys required, the last two optional, no other key allowed; amounts
/// are strings so that they stay exact):
///
/// ```toml
/// id = "operation-a"          # [a-z0-9_-], 1 to 64 characters; rounds must carry the same id
/// name = "Operation A"        # free text
/// snm_per_ip = "50 SNM"       # paid once per unique worker IP over the whole campaign
/// usd_per_tb = "4 USD"        # paid per 10^12 bytes of traffic ("$4" also accepted)
/// snm_per_usd = "25 SNM/USD"  # fixed conversion rate: how many SNM one USD buys
/// max_line_rate = "10 Gbit/s" # optional (this default): no record may carry more in its period
/// allow_private_ips = false   # optional (this default): true counts loopback and private IPs
/// ```
///
/// The last two say which records the campaign accepts ([`Campaign::check_record`]), not what it
/// pays: they may change from one round to the next, as the name may.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// Stable identifier; a previous-round file of another campaign is refused.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Reward per unique worker IP, paid once per campaign.
    #[serde(with = "as_string")]
    pub snm_per_ip: Snm,
    /// Reward per terabyte (10^12 bytes) of traffic, in USD.
    #[serde(with = "as_string")]
    pub usd_per_tb: Usd,
    /// The SNM/USD rate fixed for the campaign.
    #[serde(with = "as_string")]
    pub snm_per_usd: SnmPerUsd,
    /// The fastest line a worker has: a record reporting more bytes than such a line carries in
    /// its period is refused. [`LineRate::TEN_GBIT`] unless the file says otherwise (and then left
    /// out of the round file, which stays as it was before the setting existed).
    #[serde(default = "ten_gbit", skip_serializing_if = "is_ten_gbit")]
    pub max_line_rate: LineRate,
    /// Whether loopback (`127.0.0.0/8`, `::1`), private (`10/8`, `172.16/12`, `192.168/16`,
    /// `fc00::/7`), link-local and shared (`100.64/10`) worker IPs are counted: a devnet's
    /// workers all run on `127.0.0.x`. `false` unless the file says otherwise (and then left out
    /// of the round file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_private_ips: bool,
    /// Whether only admitted IPs earn, each from its admission time (an admission list is then an
    /// input of every round, see [`AdmissionList`](super::AdmissionList)). `false` unless the file
    /// says otherwise: every reported IP counts, from its first record (and the key is left out
    /// of the round file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admission: bool,
    /// With admission: an admitted IP earns `snm_per_ip` when it was available (an open ask or a
    /// running deal, from the agents' availability records) for at least this long since its
    /// admission, whether a customer bought it or not; without it, when it appears in a usage
    /// report. `None` unless the file says otherwise (and then left out of the round file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_online: Option<OnlineTime>,
    /// Traffic checked from both sides: with it, customers' signed reports are an input of each
    /// round, a deal reported by both is paid on the smaller figure, and deals whose figures
    /// differ by more than this are listed. `None` unless the file says otherwise (and then left
    /// out of the round file): the suppliers' figures are paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_tolerance: Option<Tolerance>,
    /// With `traffic_tolerance`: whether a deal only its supplier reported is paid on the
    /// supplier's figure (`"paid"`, the default, left out of the round file) or not at all
    /// (`"unpaid"`).
    #[serde(default, skip_serializing_if = "SupplierOnly::is_paid")]
    pub supplier_only_traffic: SupplierOnly,
}

fn ten_gbit() -> LineRate {
    LineRate::TEN_GBIT
}

fn is_ten_gbit(rate: &LineRate) -> bool {
    *rate == LineRate::TEN_GBIT
}

/// Serde through `Display`/`FromStr`, for the exact unit types.
mod as_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::{fmt::Display, str::FromStr};

    pub(super) fn serialize<T: Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(super) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
    where
        T: FromStr<Err: Display>,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

impl Campaign {
    /// The reference campaign "Operation A": 50 SNM per unique IP and $4 per TB, at `snm_per_usd`.
    /// It accepts public worker IPs only (no loopback or private one: set
    /// [`allow_private_ips`](Self::allow_private_ips) on a devnet) and lines up to 10 Gbit/s
    /// ([`max_line_rate`](Self::max_line_rate)).
    pub fn operation_a(snm_per_usd: SnmPerUsd) -> Self {
        Self {
            id: "operation-a".into(),
            name: "Operation A".into(),
            snm_per_ip: Snm::from_whole(50),
            usd_per_tb: Usd::from_whole(4),
            snm_per_usd,
            max_line_rate: LineRate::TEN_GBIT,
            allow_private_ips: false,
            admission: false,
            min_online: None,
            traffic_tolerance: None,
            supplier_only_traffic: SupplierOnly::Paid,
        }
    }

    /// Reads and checks a campaign file.
    pub fn from_toml_file(path: &Path) -> Result<Self, RewardsError> {
        let text = std::fs::read_to_string(path).map_err(|e| RewardsError::io(path, e))?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and checks a campaign from TOML text; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Self, RewardsError> {
        let campaign: Self = toml::from_str(text).map_err(|e| {
            let line =
                e.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() as u64 + 1);
            RewardsError::Config {
                at: Location { file: file.to_owned(), line },
                reason: e.message().to_owned(),
            }
        })?;
        campaign.check().map_err(|reason| RewardsError::Config { at: Location::file(file), reason })?;
        Ok(campaign)
    }

    /// Checks the rules: a well-formed id, a non-zero rate, a line that carries something.
    pub fn check(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(format!("id `{}` must be 1 to 64 characters of a-z, 0-9, `-` and `_`", self.id));
        }
        if self.snm_per_usd.scaled().is_zero() && !self.usd_per_tb.scaled().is_zero() {
            return Err("snm_per_usd is zero: traffic would pay nothing".into());
        }
        if self.max_line_rate.bits_per_second() == 0 {
            return Err("max_line_rate is zero: no record could report any traffic".into());
        }
        if self.min_online.is_some() && !self.admission {
            return Err("min_online needs admission = true: online time counts from admission".into());
        }
        if self.traffic_tolerance.is_none() && !self.supplier_only_traffic.is_paid() {
            return Err("supplier_only_traffic = \"unpaid\" needs traffic_tolerance: customers' reports are read only then".into());
        }
        Ok(())
    }

    /// Whether the paying rules (id, per-IP amount, USD per TB, rate, admission, `min_online`,
    /// `traffic_tolerance`, `supplier_only_traffic`) are the same; the name and
    /// what records the campaign accepts (line rate, private IPs) may change between rounds.
    pub fn same_rules(&self, other: &Self) -> bool {
        self.id == other.id
            && self.snm_per_ip == other.snm_per_ip
            && self.usd_per_tb == other.usd_per_tb
            && self.snm_per_usd == other.snm_per_usd
            && self.admission == other.admission
            && self.min_online == other.min_online
            && self.traffic_tolerance == other.traffic_tolerance
            && self.supplier_only_traffic == other.supplier_only_traffic
    }

    /// The traffic reward for `bytes`: `bytes × usd_per_tb × snm_per_usd / 10^12 / 10^18`, computed
    /// exactly in 512 bits and rounded down once.
    pub fn traffic_reward(&self, bytes: Bytes) -> Result<Snm, RewardsError> {
        let usd_scaled_times_rate = U256::from(bytes.get())
            .checked_mul(self.usd_per_tb.scaled())
            .ok_or(RewardsError::Overflow("bytes × usd_per_tb"))?;
        // 10^12 (bytes per TB) × 10^18 (USD scale) = 10^30.
        let denominator = U256::from(Bytes::PER_TB) * U256::from(1_000_000_000_000_000_000u128);
        mul_div_down(usd_scaled_times_rate, self.snm_per_usd.scaled(), denominator)
            .map(Snm::from_wei)
            .ok_or(RewardsError::Overflow("traffic reward"))
    }

    /// An account's cumulative reward for owning `ips` unique IPs with `bytes` of traffic on them:
    /// `ips × snm_per_ip + traffic_reward(bytes)`. Rounding happens once, on the account's whole
    /// traffic, never per record or per round.
    pub fn reward(&self, ips: u64, bytes: Bytes) -> Result<Snm, RewardsError> {
        let per_ip = self
            .snm_per_ip
            .wei()
            .checked_mul(U256::from(ips))
            .ok_or(RewardsError::Overflow("ips × snm_per_ip"))?;
        Snm::from_wei(per_ip).checked_add(self.traffic_reward(bytes)?).ok_or(RewardsError::Overflow("reward"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATION_A: &str = r#"
id = "operation-a"
name = "Operation A"
snm_per_ip = "50 SNM"
usd_per_tb = "$4"
snm_per_usd = "25 SNM/USD"
"#;

    #[test]
    fn operation_a_pays_50_per_ip_and_4_usd_per_tb() -> Result<(), RewardsError> {
        let campaign = Campaign::from_toml_str(OPERATION_A, Path::new("a.toml"))?;
        assert_eq!(campaign, Campaign::operation_a(SnmPerUsd::from_whole(25)));
        // 2 IPs and 3 TB: 100 SNM + 12 USD × 25 = 400 SNM.
        assert_eq!(campaign.reward(2, Bytes::from_tb(3))?, Snm::from_whole(400));
        // 1 byte = 4e-12 USD = 1e-10 SNM = 10^8 wei exactly.
        assert_eq!(campaign.traffic_reward(Bytes::new(1))?, Snm::from_wei(U256::from(100_000_000u64)));
        Ok(())
    }

    #[test]
    fn rounds_down_once() -> Result<(), RewardsError> {
        let mut campaign = Campaign::operation_a("0.3".parse().map_err(|_| RewardsError::Overflow("x"))?);
        campaign.usd_per_tb = Usd::from_scaled(U256::from(1));
        // 10^12 bytes × 1e-18 USD/TB × 0.3 = 0.3e-18 USD... = 0.3 wei -> 0.
        assert_eq!(campaign.traffic_reward(Bytes::from_tb(1))?, Snm::ZERO);
        assert_eq!(campaign.traffic_reward(Bytes::from_tb(4))?, Snm::from_wei(U256::from(1)));
        Ok(())
    }

    #[test]
    fn what_records_a_campaign_accepts_defaults_to_public_ips_on_10_gbit_lines() -> Result<(), RewardsError> {
        let default = Campaign::from_toml_str(OPERATION_A, Path::new("a.toml"))?;
        assert_eq!((default.max_line_rate, default.allow_private_ips), (LineRate::TEN_GBIT, false));
        let devnet = format!("{OPERATION_A}max_line_rate = \"1 Gbit/s\"\nallow_private_ips = true\n");
        let devnet = Campaign::from_toml_str(&devnet, Path::new("a.toml"))?;
        assert_eq!(devnet.max_line_rate, LineRate::from_bits_per_second(1_000_000_000));
        assert!(devnet.allow_private_ips);
        assert!(devnet.same_rules(&default), "what a campaign accepts is not what it pays");
        // A round file of a campaign at its defaults stays as it was before the settings existed.
        let json = serde_json::to_value(&default).map_err(|_| RewardsError::Overflow("json"))?;
        assert_eq!(json.as_object().map(|o| o.len()), Some(5), "{json}");
        let json = serde_json::to_value(&devnet).map_err(|_| RewardsError::Overflow("json"))?;
        assert_eq!((&json["max_line_rate"], &json["allow_private_ips"]), (&"1 Gbit/s".into(), &true.into()));
        Ok(())
    }

    #[test]
    fn admission_online_time_and_two_sided_traffic_are_paying_rules() -> Result<(), RewardsError> {
        let plain = Campaign::from_toml_str(OPERATION_A, Path::new("a.toml"))?;
        let text = format!(
            "{OPERATION_A}admission = true\nmin_online = \"24h\"\ntraffic_tolerance = \"5%\"\nsupplier_only_traffic = \"unpaid\"\n"
        );
        let staged = Campaign::from_toml_str(&text, Path::new("a.toml"))?;
        assert!(staged.admission);
        assert_eq!(staged.min_online, Some(OnlineTime::from_hours(24)));
        assert_eq!(staged.traffic_tolerance, Some(Tolerance::from_basis_points(500)));
        assert_eq!(staged.supplier_only_traffic, SupplierOnly::Unpaid);
        assert!(!staged.same_rules(&plain), "a round of one is never the previous of the other");
        let json = serde_json::to_value(&staged).map_err(|_| RewardsError::Overflow("json"))?;
        assert_eq!(
            (&json["min_online"], &json["traffic_tolerance"], &json["supplier_only_traffic"]),
            (&"1d".into(), &"5%".into(), &"unpaid".into())
        );
        for (extra, needle) in [
            ("min_online = \"24h\"\n", "min_online needs admission"),
            ("supplier_only_traffic = \"unpaid\"\n", "needs traffic_tolerance"),
            ("admission = true\nmin_online = \"1 day\"\n", "not an online time"),
            ("traffic_tolerance = \"5\"\n", "not a tolerance"),
        ] {
            let err = Campaign::from_toml_str(&format!("{OPERATION_A}{extra}"), Path::new("a.toml"))
                .expect_err("refused");
            assert!(err.to_string().contains(needle), "{err}");
        }
        Ok(())
    }

    #[test]
    fn bad_configs_name_file_line_and_reason() {
        let cases = [
            (OPERATION_A.replace("\"50 SNM\"", "\"fifty\""), Some(4), "expected"),
            (OPERATION_A.replace("\"$4\"", "4.0"), Some(5), "string"),
            (OPERATION_A.replace("name = \"Operation A\"\n", ""), Some(1), "name"),
            (format!("{OPERATION_A}bonus = \"1\"\n"), Some(7), "bonus"),
            (OPERATION_A.replace("operation-a", "Operation A!"), None, "id"),
            (OPERATION_A.replace("25 SNM/USD", "0"), None, "zero"),
            ("id = ".to_owned(), Some(1), ""),
            (format!("{OPERATION_A}max_line_rate = \"10 GB/s\"\n"), Some(7), "line rate"),
            (format!("{OPERATION_A}max_line_rate = \"0 Gbit/s\"\n"), None, "zero"),
            (format!("{OPERATION_A}allow_private_ips = \"yes\"\n"), Some(7), "bool"),
        ];
        for (text, line, needle) in cases {
            let err = Campaign::from_toml_str(&text, Path::new("cfg/a.toml")).expect_err("must fail");
            let RewardsError::Config { at, reason } = &err else { panic!("wrong error {err}") };
            assert_eq!(at.file, Path::new("cfg/a.toml"));
            assert_eq!(at.line, line, "{err}");
            assert!(reason.contains(needle), "{err} should mention {needle}");
            assert!(err.to_string().starts_with("cfg/a.toml"), "{err}");
        }
    }
}
