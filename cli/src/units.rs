//! How the command line shows numbers beside the SDK's units: sizes and CPU cores in the tables,
//! gas with thousands separators, plurals. What a unit reads and writes is the SDK's ([`Bytes`]
//! parses `16GiB` and `500 GB`, [`NetFlags`](snm_sdk::units::NetFlags) parses
//! `public-ip,incoming`,
//! [`UsdPerSecond::parse_rounding_down`](snm_sdk::units::UsdPerSecond::parse_rounding_down) reads
//! a price per hour or per second); the options take those directly.

use snm_sdk::units::{Bytes, fixed::Fixed};

/// A machine's size for a table: in the largest binary unit it is a whole number of (`16 GiB`,
/// `512 MiB`), else in a decimal one (`500 GB`), else in bytes; `0` alone.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        0 => "0".to_owned(),
        bytes => Bytes::new(bytes.into()).in_whole_unit().to_string(),
    }
}

/// Thousandths of a core as cores (`4`, `1.5`).
pub fn cores_text(milli_cores: u64) -> String {
    Fixed::from_u128(milli_cores.into(), 3).to_string()
}

pub use snm_sdk::gas::thousands;

/// `1 thing` or `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 { format!("1 {thing}") } else { format!("{n} {thing}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_cores_and_counts_for_tables() {
        assert_eq!(size_text(16 << 30), "16 GiB");
        assert_eq!(size_text(512 << 20), "512 MiB");
        assert_eq!(size_text(500_000_000_000), "500 GB");
        assert_eq!(size_text(1_234), "1234 B");
        assert_eq!(size_text(0), "0");
        assert_eq!(
            (cores_text(4_000), cores_text(1_500), cores_text(250), cores_text(0)),
            ("4".into(), "1.5".into(), "0.25".into(), "0".into())
        );
        assert_eq!(
            (thousands(0), thousands(999), thousands(1_234_567)),
            ("0".into(), "999".into(), "1,234,567".into())
        );
        assert_eq!(
            (plural(1, "deal"), plural(2, "deal"), plural(0, "deal")),
            ("1 deal".into(), "2 deals".into(), "0 deals".into())
        );
    }
}
