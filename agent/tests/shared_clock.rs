//! The agents of a process read the chain's time once per interval: a second agent asking within
//! it sends no request and gets the same time; once the interval is over the next asks the node
//! again and sees the time moved.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::time::Duration;

use snm_agent::shared_clock::SharedClock;
use snm_sdk::devnet::Devnet;

fn block_reads(devnet: &Devnet) -> u64 {
    devnet.requests().by_method().get("eth_getBlockByNumber").copied().unwrap_or(0)
}

#[tokio::test]
async fn agents_asking_within_the_interval_share_one_reading() {
    let devnet = Devnet::start().await.unwrap();
    let (one, two) = (devnet.client(1).unwrap(), devnet.client(2).unwrap());
    // An hour: no test run reaches it, so every ask after the first is within it.
    let clock = SharedClock::new(Duration::from_secs(3_600));
    let before = block_reads(&devnet);
    let first = clock.now(&one).await.unwrap();
    assert_eq!(block_reads(&devnet), before + 1, "the first ask reads the latest block");
    devnet.advance_time(Duration::from_secs(600)).await.unwrap();
    let second = clock.clone().now(&two).await.unwrap();
    assert_eq!(second, first, "within the interval, the reading of the first");
    assert_eq!(block_reads(&devnet), before + 1, "and no request");

    // An interval of zero is always over: each ask reads the node and sees the time moved.
    let fresh = SharedClock::new(Duration::ZERO);
    let now = fresh.now(&two).await.unwrap();
    assert!(now >= first + 600, "{now} is not 600 s after {first}");
    assert_eq!(block_reads(&devnet), before + 2);
}
