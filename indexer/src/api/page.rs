//! The web page at `/`: the market as HTML rendered on the server, with a little JavaScript that
//! filters the order book as one types and refreshes the figures from `/v1/stats`.

use std::{collections::BTreeSet, fmt::Write};

use axum::{
    extract::State,
    response::{Html, IntoResponse, Response},
};
use snm_sdk::units::UsdPerSecond;

use super::{ApiError, AppState, Pairs, params, params::ask_filter};
use crate::model::DealStatus;

/// Text made safe for HTML.
fn esc(text: impl std::fmt::Display) -> String {
    text.to_string()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn per_hour(price: UsdPerSecond) -> String {
    price.to_per_hour().to_string()
}

const SCRIPT: &str = r#"
function filterBook() {
  const wanted = document.getElementById('book-filter').value.toLowerCase();
  let shown = 0;
  for (const row of document.querySelectorAll('#asks tbody tr')) {
    const keep = row.textContent.toLowerCase().includes(wanted);
    row.style.display = keep ? '' : 'none';
    if (keep) shown++;
  }
  document.getElementById('book-count').textContent = shown + ' shown';
}
async function refreshStats() {
  try {
    const stats = await (await fetch('/v1/stats')).json();
    document.getElementById('live-stats').textContent =
      'live: ' + stats.open_asks + ' open asks, ' + stats.active_deals + ' active deals, ' +
      stats.usd_per_hour + ' paid, block ' + stats.indexed_block;
  } catch (error) {
    document.getElementById('live-stats').textContent = 'live figures unavailable: ' + error;
  }
}
document.getElementById('book-filter').addEventListener('input', filterBook);
filterBook();
refreshStats();
setInterval(refreshStats, 5000);
"#;

/// `GET /`: the page, with the order book narrowed by the same parameters as `/v1/asks`.
pub(super) async fn page(State(state): State<AppState>, query: Pairs) -> Result<Response, ApiError> {
    let mut params = params(query)?;
    let (filter, after) = ask_filter(&mut params)?;
    params.finish()?;
    let db = &state.db;
    let book = db.asks(&filter, after.as_ref(), 200).await?;
    let bids = db.bids(None, None, 100).await?;
    let deals = db.deals(None, None, None, 100).await?;
    let stats = db.stats().await?;
    let rounds = db.rounds().await?;
    let health = state.health.view();

    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SNM market</title>\
         <style>body{{font-family:sans-serif;margin:1em 2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}th{{background:#eee}}</style></head><body>\
         <h1>SNM market</h1>\
         <p id=\"stats\">{} open asks, {} open bids, {} active deals of {}, {} being paid, {} unique supplier IPs; \
         oracle rate <span id=\"oracle-rate\">{}</span>; indexed block {} (chain head {}, status {})</p>\
         <p id=\"live-stats\">live figures loading</p>",
        stats.open_asks,
        stats.open_bids,
        stats.active_deals,
        stats.total_deals,
        esc(stats.usd_per_hour),
        stats.unique_supplier_ips,
        stats.snm_per_usd.map_or_else(|| "none yet".to_owned(), esc),
        stats.indexed_block.map_or_else(|| "none".to_owned(), |b| b.to_string()),
        health.chain_head.map_or_else(|| "unknown".to_owned(), |b| b.to_string()),
        esc(&health.status),
    );

    let _ = write!(
        html,
        "<h2>Order book</h2><form method=\"get\" action=\"/\">max price (USD/h) <input name=\"max_price\" size=\"6\"> \
         cores <input name=\"cpu_cores\" size=\"4\"> region <input name=\"region\" size=\"4\"> \
         <button>filter</button></form><p>quick filter <input id=\"book-filter\" placeholder=\"text in a row\"> \
         <span id=\"book-count\"></span></p><table id=\"asks\"><thead><tr><th>ask</th><th>master</th><th>worker</th>\
         <th>resources</th><th>flags</th><th>region</th><th>price</th></tr></thead><tbody>"
    );
    for ask in &book.asks {
        let r = &ask.ask.resources;
        let _ = write!(
            html,
            "<tr class=\"ask\" data-id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{} cores, {} GiB RAM, {} GPU</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            ask.id,
            ask.id,
            esc(ask.ask.master),
            esc(ask.ask.worker),
            r.cpu_milli_cores as f64 / 1000.0,
            r.ram_bytes >> 30,
            r.gpu_count,
            esc(ask.ask.flags),
            ask.ask.region,
            esc(per_hour(ask.ask.price)),
        );
    }
    html.push_str("</tbody></table><h2>Bids</h2><table id=\"bids\"><tr><th>bid</th><th>customer</th><th>max price</th><th>term</th><th>deposit</th></tr>");
    for bid in &bids.bids {
        let _ = write!(
            html,
            "<tr class=\"bid\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            bid.id,
            esc(bid.bid.customer),
            esc(per_hour(bid.bid.max_price)),
            esc(bid.bid.term),
            esc(bid.bid.deposit)
        );
    }
    html.push_str(
        "</table><h2>Deals, active and recent</h2><table id=\"deals\"><tr><th>deal</th><th>status</th><th>customer</th>\
         <th>master</th><th>price</th><th>paid</th><th>endpoint</th></tr>",
    );
    for deal in &deals {
        let _ = write!(
            html,
            "<tr class=\"deal {}\" data-id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            deal.status.as_str(),
            deal.id,
            deal.id,
            deal.status.as_str(),
            esc(deal.customer),
            esc(deal.master),
            esc(per_hour(deal.price)),
            esc(deal.paid),
            esc(deal.endpoint.as_deref().unwrap_or("")),
        );
    }
    html.push_str(
        "</table><h2>Suppliers</h2><table id=\"suppliers\"><tr><th>master</th><th>workers</th><th>IPs</th>\
         <th>running deals</th><th>earnings</th><th>rewards claimed</th></tr>",
    );
    let masters: BTreeSet<_> =
        book.asks.iter().map(|a| a.ask.master).chain(deals.iter().map(|d| d.master)).collect();
    for master in masters.into_iter().take(50) {
        let supplier = db.supplier(master).await?;
        let running = supplier.deals.iter().filter(|d| d.status == DealStatus::Open).count();
        let _ = write!(
            html,
            "<tr class=\"supplier\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(master),
            supplier.workers.len(),
            esc(supplier.ips.join(", ")),
            running,
            esc(supplier.earnings),
            esc(supplier.rewards_claimed),
        );
    }
    html.push_str(
        "</table><h2>Reward rounds</h2><table id=\"rounds\"><tr><th>round</th><th>status</th><th>total</th>\
         <th>claim progress</th><th>files</th></tr>",
    );
    for round in &rounds {
        let _ = write!(
            html,
            "<tr class=\"round\"><td>{}</td><td>{}</td><td>{}</td><td>{} of {} registered accounts claimed</td><td>{}</td></tr>",
            round.round,
            esc(&round.status),
            esc(round.total),
            round.claimed_accounts,
            round.registered_accounts,
            esc(&round.uri),
        );
    }
    let _ = write!(html, "</table><script>{SCRIPT}</script></body></html>");
    Ok(Html(html).into_response())
}
