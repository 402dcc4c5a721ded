//! Every request gets a request id, a log line with its latency, and a count in `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// (route, method, status) → (requests, seconds spent).
type Tallies = BTreeMap<(String, String, u16), (u64, f64)>;

/// Request counters by route, method and status, plus total latency per route.
#[derive(Default)]
pub struct Metrics {
    next_id: AtomicU64,
    counts: Mutex<Tallies>,
}

impl Metrics {
    fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut counts) = self.counts.lock() {
            let entry = counts
                .entry((route.to_owned(), method.to_owned(), status))
                .or_default();
            entry.0 += 1;
            entry.1 += seconds;
        }
    }

    /// The Prometheus text exposition of the counters, with the store's commit groups and
    /// directory reads.
    pub fn render(
        &self,
        writes: Option<stride_app::WriteCounts>,
        directory: Option<stride_app::DirectoryCounts>,
    ) -> String {
        let mut out = String::from(
            "# HELP stride_http_requests_total HTTP requests by route, method and status.\n\
             # TYPE stride_http_requests_total counter\n",
        );
        let mut durations = String::from(
            "# HELP stride_http_request_duration_seconds_sum Time spent answering, by route.\n\
             # TYPE stride_http_request_duration_seconds_sum counter\n",
        );
        if let Ok(counts) = self.counts.lock() {
            for ((route, method, status), (n, secs)) in counts.iter() {
                let labels = format!(
                    "route=\"{}\",method=\"{method}\",status=\"{status}\"",
                    route.replace('"', "'")
                );
                out.push_str(&format!("stride_http_requests_total{{{labels}}} {n}\n"));
                durations.push_str(&format!(
                    "stride_http_request_duration_seconds_sum{{{labels}}} {secs:.6}\n"
                ));
            }
        }
        let mut out = out + &durations;
        if let Some(w) = writes {
            out.push_str(&format!(
                "# HELP stride_sqlite_writes_total Write transactions committed.\n\
                 # TYPE stride_sqlite_writes_total counter\n\
                 stride_sqlite_writes_total {}\n\
                 # HELP stride_sqlite_commits_total Commits that carried them; writes that queue together share one.\n\
                 # TYPE stride_sqlite_commits_total counter\n\
                 stride_sqlite_commits_total {}\n",
                w.writes, w.commits
            ));
        }
        if let Some(d) = directory {
            out.push_str(&format!(
                "# HELP stride_directory_reads_total Reads of users, roles, departments, sessions and tokens, by where they were answered from.\n\
                 # TYPE stride_directory_reads_total counter\n\
                 stride_directory_reads_total{{answer=\"memory\"}} {}\n\
                 stride_directory_reads_total{{answer=\"database\"}} {}\n\
                 # HELP stride_directory_hearing Whether other servers' directory changes reach this one (1), so that it may answer from memory.\n\
                 # TYPE stride_directory_hearing gauge\n\
                 stride_directory_hearing {}\n",
                d.from_memory,
                d.from_database,
                u8::from(d.hearing)
            ));
        }
        out
    }

    fn next_request_id(&self) -> String {
        format!(
            "{:x}-{:x}",
            std::process::id(),
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned)
        .unwrap_or_else(|| state.metrics.next_request_id());
    // Unmatched paths share one label so scanners cannot grow the metrics without bound.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let span = tracing::info_span!("request", request_id = %id, %method, path = %req.uri().path());
    let mut res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "answered"
        )
    });
    state
        .metrics
        .record(&route, &method, status, elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    res
}
