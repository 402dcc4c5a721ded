//! Stride's integration tests: one binary, real servers, real SQLite files and PostgreSQL
//! databases, real headless Chromium.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod cli;
mod customer_policy;
mod customers;
mod import;
mod jobs;
mod leads;
mod ui;
mod ui_more;
mod ui_sales;
