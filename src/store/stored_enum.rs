//! Enums the store keeps as text: each spelling written once.
//!
//! [`stored_enum!`] defines an enum with one stored spelling per variant (and, optionally,
//! other spellings it also reads, for hand-written input such as a CSV import) and derives
//! from that one list everything a stored value needs: `as_str`, `ALL`, [`std::str::FromStr`]
//! (with [`UnknownSpelling`] as its error), `Display`, serde as the spelling, diesel's `Text`
//! mapping (so a row's column is the enum, not a `String`), and comparison with `&str` (so a
//! test can say `assert_eq!(record.flow, "prl-push")`).

use thiserror::Error;

/// A stored or written spelling that names no variant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {what} {got:?}: expected one of {}", .expected.join(", "))]
pub struct UnknownSpelling {
    /// What was being read (`"session status"`).
    pub what: &'static str,
    /// What was found.
    pub got: String,
    /// The stored spellings.
    pub expected: &'static [&'static str],
}

impl From<UnknownSpelling> for super::StoreError {
    fn from(e: UnknownSpelling) -> Self {
        Self::InvalidValue {
            field: e.what,
            reason: e.to_string(),
        }
    }
}

/// Defines an enum stored as text. See the [module documentation](self).
///
/// ```ignore
/// stored_enum! {
///     /// Status of a session.
///     pub enum SessionStatus("session status") {
///         /// Running.
///         Active = "active",
///         /// Ended well.
///         Completed = "completed" | "done",
///     }
/// }
/// ```
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            /// The stored spellings, in declaration order.
            pub const SPELLINGS: [&'static str; [$($text),+].len()] = [$($text),+];

            /// The stored spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::store::stored_enum::UnknownSpelling;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text $(| $alias)* => Ok(Self::$variant), )+
                    other => Err($crate::store::stored_enum::UnknownSpelling {
                        what: $what,
                        got: other.to_string(),
                        expected: &Self::SPELLINGS,
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write;
                out.write_all(self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(
                bytes: <diesel::pg::Pg as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                Ok(text.parse()?)
            }
        }
    };
}

pub(crate) use stored_enum;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    stored_enum! {
        /// A test enum.
        pub enum Colour("colour") {
            /// Red.
            Red = "red" | "rouge",
            /// Dark blue.
            DarkBlue = "dark-blue",
        }
    }

    #[test]
    fn spellings_round_trip_and_aliases_read() {
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!("rouge".parse::<Colour>(), Ok(Colour::Red));
        assert_eq!(Colour::DarkBlue, "dark-blue");
        assert_eq!(Colour::SPELLINGS, ["red", "dark-blue"]);
    }

    #[test]
    fn an_unknown_spelling_is_a_typed_error() {
        let e = "green".parse::<Colour>().unwrap_err();
        assert_eq!(e.what, "colour");
        assert_eq!(
            e.to_string(),
            "unknown colour \"green\": expected one of red, dark-blue"
        );
    }

    #[test]
    fn serde_uses_the_spelling() {
        let json = serde_json::to_string(&Colour::DarkBlue).unwrap();
        assert_eq!(json, "\"dark-blue\"");
        assert_eq!(
            serde_json::from_str::<Colour>(&json).unwrap(),
            Colour::DarkBlue
        );
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
    }
}
