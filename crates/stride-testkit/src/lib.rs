//! Test harness for Stride: real servers on port 0, a fresh database per test on both backends.

pub mod browser;
