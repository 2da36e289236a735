//! Which destinations a tunnel may reach: the public internet only, unless the configuration
//! allows more.
//!
//! A customer's tunnel starts on the supplier's machine, so without a policy it reaches what only
//! that machine should: its own services on loopback, its LAN, the cloud's metadata service on
//! 169.254.169.254. The proxy checks every address a target resolves to (so a name cannot smuggle
//! one in) against the special-purpose ranges of RFC 6890 and its successors, and connects only to
//! those checked addresses.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

pub use snm_sdk::net::AddressClass;
use snm_sdk::net::{canonical, classify};

/// An address range, `10.0.0.0/8` or `fd00::/8`; a bare address is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The range of `network`'s first `prefix` bits; `None` if `prefix` is longer than the
    /// address.
    pub fn new(network: IpAddr, prefix: u8) -> Option<Self> {
        let bits = if network.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then_some(Self { network, prefix })
    }

    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                within(net.to_bits().into(), ip.to_bits().into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => within(net.to_bits(), ip.to_bits(), self.prefix, 128),
            _ => false,
        }
    }
}

fn within(net: u128, ip: u128, prefix: u8, bits: u32) -> bool {
    let shift = bits - u32::from(prefix);
    shift >= bits || (net >> shift) == (ip >> shift)
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadCidr(text.to_owned());
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let ip: IpAddr = ip.parse().map_err(|_| bad())?;
        Self::new(ip, prefix.unwrap_or(if ip.is_ipv4() { 32 } else { 128 })).ok_or_else(bad)
    }
}

/// A range that does not read as `address/prefix`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an address range (`10.0.0.0/8`, `fd00::/8` or a single address)")]
pub struct BadCidr(pub String);

/// The destinations a proxy refuses: every [`AddressClass`], except the ranges allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    allow: Vec<Cidr>,
}

impl DestinationPolicy {
    /// Public addresses only, and the ranges in `allow` (for example `127.0.0.1/32` for a test's
    /// target on loopback).
    pub fn allowing(allow: Vec<Cidr>) -> Self {
        Self { allow }
    }

    /// The ranges allowed beyond the public internet.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allow
    }

    /// Whether a tunnel may reach `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), Forbidden> {
        match classify(ip) {
            Some(class) if !self.allow.iter().any(|range| range.contains(ip)) => {
                Err(Forbidden { ip: canonical(ip), class })
            }
            _ => Ok(()),
        }
    }

    /// Whether a tunnel may reach a target that resolved to `addresses`: each of them must pass,
    /// so that a name resolving to a public and a private address is refused rather than raced.
    pub fn check_all(&self, addresses: &[SocketAddr]) -> Result<(), Forbidden> {
        addresses.iter().try_for_each(|address| self.check(address.ip()))
    }
}

/// A destination the policy refuses.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "destination {ip} is {class}: the proxy reaches public addresses only (a supplier allows more with --allow)"
)]
pub struct Forbidden {
    /// The address refused.
    pub ip: IpAddr,
    /// Why.
    pub class: AddressClass,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn refused(policy: &DestinationPolicy, text: &str) -> Option<AddressClass> {
        policy.check(ip(text)).err().map(|forbidden| forbidden.class)
    }

    #[test]
    fn every_special_purpose_class_is_refused_by_default() {
        use AddressClass::*;
        let policy = DestinationPolicy::default();
        for (address, class) in [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.254", Private),
            ("192.168.1.1", Private),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fec0::1", Private),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("255.255.255.255", Broadcast),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.254", SharedAddressSpace),
            ("240.0.0.1", Reserved),
            ("192.0.2.1", Reserved),
            ("198.18.0.1", Reserved),
            ("203.0.113.7", Reserved),
            ("2001:db8::1", Reserved),
            ("::7f00:1", Reserved),
            ("100::1", Reserved),
        ] {
            assert_eq!(refused(&policy, address), Some(class), "{address}");
        }
    }

    #[test]
    fn ipv6_forms_of_refused_ipv4_addresses_are_refused_as_those() {
        let policy = DestinationPolicy::default();
        for (address, v4) in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::ffff:169.254.169.254", "169.254.169.254"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
            ("2002:c0a8:0101::1", "192.168.1.1"),
        ] {
            let forbidden = policy.check(ip(address)).unwrap_err();
            assert_eq!(forbidden.ip, ip(v4), "{address}");
        }
        // The same forms of a public address pass.
        for address in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::1"] {
            assert_eq!(policy.check(ip(address)), Ok(()), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        let policy = DestinationPolicy::default();
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "2606:4700::1111",
            "2a00:1450::1",
        ] {
            assert_eq!(policy.check(ip(address)), Ok(()), "{address}");
        }
    }

    #[test]
    fn the_allow_list_opens_its_ranges_only() {
        let policy =
            DestinationPolicy::allowing(vec!["127.0.0.0/24".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert_eq!(policy.check(ip("127.0.0.9")), Ok(()));
        assert_eq!(policy.check(ip("::ffff:127.0.0.9")), Ok(()));
        assert_eq!(policy.check(ip("fd12::1")), Ok(()));
        assert_eq!(refused(&policy, "127.0.1.1"), Some(AddressClass::Loopback));
        assert_eq!(refused(&policy, "fc00::1"), Some(AddressClass::Private));
        assert_eq!(refused(&policy, "169.254.169.254"), Some(AddressClass::LinkLocal));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("10.0.0.1")));
    }

    #[test]
    fn a_resolved_target_passes_only_if_every_address_does() {
        let policy = DestinationPolicy::allowing(vec!["127.0.0.2/32".parse().unwrap()]);
        let addrs = |list: &[&str]| list.iter().map(|a| SocketAddr::new(ip(a), 443)).collect::<Vec<_>>();
        assert_eq!(policy.check_all(&addrs(&["8.8.8.8", "127.0.0.2"])), Ok(()));
        let smuggled = policy.check_all(&addrs(&["8.8.8.8", "169.254.169.254"])).unwrap_err();
        assert_eq!((smuggled.ip, smuggled.class), (ip("169.254.169.254"), AddressClass::LinkLocal));
        assert!(smuggled.to_string().contains("169.254.169.254 is link-local"), "{smuggled}");
        assert!(policy.check_all(&addrs(&["::1"])).is_err());
    }

    #[test]
    fn ranges_read_as_address_and_prefix() {
        assert_eq!("10.0.0.0/8".parse::<Cidr>().unwrap().to_string(), "10.0.0.0/8");
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "localhost", "10.0.0.0/x", ""] {
            assert_eq!(bad.parse::<Cidr>(), Err(BadCidr(bad.to_owned())), "{bad}");
        }
    }
}
