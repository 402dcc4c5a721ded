//! Stride's integration tests: one binary, real servers, real SQLite files and PostgreSQL
//! databases, real headless Chromium.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod attachments;
mod board_totals;
mod cli;
mod contracts;
mod customer_policy;
mod customers;
mod directory;
mod discounts;
mod import;
mod jobs;
mod leads;
mod opportunities;
mod pages;
mod search;
mod stage_documents;
mod stages;
mod ui;
mod ui_contracts;
mod ui_flows;
mod ui_handover;
mod ui_more;
mod ui_opportunities;
mod ui_sales;
mod ui_stage_documents;
