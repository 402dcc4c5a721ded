//! Pure business rules of Stride. No I/O, no async, no database, no HTTP.
//!
//! Every module here is a business area; the same names recur in every layer above.

pub mod access;
pub mod calendar;
pub mod clock;
pub mod customers;
pub mod leads;
pub mod money;
pub mod opportunities;
pub mod validate;
