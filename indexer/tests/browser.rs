//! The web page in a real browser: headless Chromium loads `/` from an indexer of a devnet, and
//! the DOM it dumps after the page's scripts ran shows the order book, the deals, the suppliers
//! and the oracle rate the database holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{net::SocketAddr, process::Command};

use common::{History, TestDb, devnet, ensure_package, indexer, random_history, serve, temp_dir};

/// The DOM of `path` after its scripts ran (and the timers it set, fast-forwarded).
async fn dump_dom(address: SocketAddr, path: &str) -> String {
    let url = format!("http://{address}{path}");
    tokio::task::spawn_blocking(move || {
        let profile = temp_dir("chromium");
        let output = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .expect("chromium runs");
        let _ = std::fs::remove_dir_all(&profile);
        assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_market_in_a_browser() {
    if Command::new("chromium").arg("--version").output().is_err() {
        ensure_package("chromium");
    }
    let db = TestDb::sqlite();
    let devnet = devnet().await;
    let mut history = History::default();
    random_history(&devnet, 51, 30, &mut history).await;
    devnet.client(0).unwrap().oracle().report("90 SNM/USD".parse().unwrap()).await.unwrap();
    let (database, mut indexer) = indexer(&devnet, &db.url("page")).await;
    indexer.catch_up().await.unwrap();
    let address = serve(database.clone(), indexer.health()).await;

    let dom = dump_dom(address, "/").await;
    let open = history.asks.len();
    assert_eq!(dom.matches("<tr class=\"ask\"").count(), open, "one row per open ask");
    for ask in &history.asks {
        assert!(dom.contains(&format!("data-id=\"{}\"", ask.id)), "ask {} is listed", ask.id);
    }
    // The page's script ran: it counted the rows and fetched the live figures.
    assert!(dom.contains(&format!("<span id=\"book-count\">{open} shown</span>")), "{dom}");
    assert!(dom.contains(&format!("live: {open} open asks, {} active deals", history.deals.len())), "{dom}");
    assert!(dom.contains("<span id=\"oracle-rate\">90 SNM/USD</span>"));
    assert_eq!(dom.matches("<tr class=\"deal open\"").count(), history.deals.len());
    let stats = database.stats().await.unwrap();
    assert_eq!(dom.matches("<tr class=\"deal ").count() as u64, stats.total_deals);
    let supplier = format!("{:#x}", devnet.accounts()[1]);
    assert!(dom.to_lowercase().contains(&supplier), "the supplier is listed");
    let supplier_view = database.supplier(devnet.accounts()[1]).await.unwrap();
    for ip in &supplier_view.ips {
        assert!(dom.contains(ip.as_str()), "its IP {ip} is shown");
    }

    // The same filters as the API narrow the book.
    let dom = dump_dom(address, "/?cpu_cores=16").await;
    let wide = history.asks.iter().filter(|a| a.ask.resources.cpu_milli_cores >= 16_000).count();
    assert_eq!(dom.matches("<tr class=\"ask\"").count(), wide);
}
