//! Pure business rules of Stride. No I/O, no async, no database, no HTTP.
//!
//! Every module here is a business area; the same names recur in every layer above.

pub mod access;
pub mod approvals;
pub mod attachments;
pub mod calendar;
pub mod clock;
pub mod contracts;
pub mod customers;
pub mod leads;
pub mod money;
pub mod opportunities;
pub mod stage_documents;
pub mod validate;

/// A closed set of names stored and sent as text (`snake_case`): the enum with `ALL`,
/// `as_str`, `FromStr` (unknown names refused), `Display` and serde. Doc comments on variants
/// are kept.
#[macro_export]
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::access::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::access::UnknownName(s.to_owned())),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
