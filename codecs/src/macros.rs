//! Macros shared by the codec modules.
//!
//! [`wire_enum!`](crate::macros::wire_enum) defines a fieldless enum whose variants each have a
//! text form and, optionally, a value on the wire, written once beside the variant instead of in
//! a hand-written `as_str`/`parse` (and `to_wire`/`from_wire`) pair that can drift apart.

/// Defines a fieldless enum whose variants carry a text form and, optionally, a wire value.
///
/// Two forms. Text only, for values spelled out on the wire or in a document (an XML attribute
/// value, a name in a configuration file):
///
/// ```ignore
/// wire_enum! {
///     /// The `action` of a Service Loading.
///     #[derive(Default)]
///     pub enum SlAction {
///         /// execute-low.
///         #[default]
///         ExecuteLow => "execute-low",
///         /// cache.
///         Cache => "cache",
///     }
/// }
/// ```
///
/// With a wire value (an integer type after the name) and the name the standard gives it:
///
/// ```ignore
/// wire_enum! {
///     /// WBXML global tokens.
///     pub enum GlobalToken: u8 {
///         /// Switch code page.
///         SwitchPage = 0x00 => "SWITCH_PAGE",
///         /// End of an element or attribute list.
///         End = 0x01 => "END",
///     }
/// }
/// ```
///
/// The enum derives `Debug, Clone, Copy, PartialEq, Eq, Hash` (more derives may be given, e.g.
/// `Default` with `#[default]` on a variant) and gets:
/// - `ALL`: every variant, in the order written;
/// - `as_str(self) -> &'static str` and [`Display`](core::fmt::Display), the text form;
/// - `parse(&str) -> Option<Self>`, the exact (case-sensitive) inverse of `as_str`;
/// - with wire values also `to_wire(self)`, `from_wire(value) -> Option<Self>` (`None` for a
///   value the enum does not name) and `From<Enum>` for the wire type.
///
/// There is no catch-all variant: an enum that must keep unknown wire values writes that variant
/// by hand (see `is683::ResultCode`). A text or wire value given twice is an unreachable match
/// arm, which the lints report. Not every enum uses every generated item, so the generated
/// impls allow dead code.
macro_rules! wire_enum {
    // With wire values: the text form, then the wire conversions.
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal => $text:literal ),+ $(,)?
        }
    ) => {
        $crate::macros::wire_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$vmeta])* $variant => $text ),+
            }
        }

        #[allow(dead_code)]
        impl $name {
            /// The value on the wire.
            $vis const fn to_wire(self) -> $repr {
                match self {
                    $( Self::$variant => $wire, )+
                }
            }

            /// The variant with wire value `value`, or `None` if no variant has it.
            $vis const fn from_wire(value: $repr) -> Option<Self> {
                match value {
                    $( $wire => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> $repr {
                value.to_wire()
            }
        }
    };

    // Text only.
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        #[allow(dead_code)]
        impl $name {
            /// Every variant, in the order of its definition.
            $vis const ALL: &'static [Self] = &[$( Self::$variant ),+];

            /// The text form.
            $vis const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The variant whose text form is exactly `s`, or `None`.
            $vis fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
    wire_enum! {
        /// A text-only test enum.
        #[derive(Default)]
        enum Colour {
            /// Red.
            Red => "red",
            /// Green, the default.
            #[default]
            Green => "green",
        }
    }

    wire_enum! {
        /// A test enum with wire values.
        enum Code: u16 {
            /// One.
            One = 1 => "ONE",
            /// A large one.
            Big = 0x1201 => "BIG",
        }
    }

    #[test]
    fn text_form() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::Green]);
        assert_eq!(Colour::default(), Colour::Green);
        for &c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Colour::Red.as_str(), "red");
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(Colour::parse(""), None);
    }

    #[test]
    fn wire_form() {
        assert_eq!(Code::ALL, [Code::One, Code::Big]);
        for &c in Code::ALL {
            assert_eq!(Code::from_wire(c.to_wire()), Some(c));
            assert_eq!(Code::parse(c.as_str()), Some(c));
            assert_eq!(u16::from(c), c.to_wire());
        }
        assert_eq!(Code::Big.to_wire(), 0x1201);
        assert_eq!(Code::from_wire(2), None);
        assert_eq!(Code::Big.to_string(), "BIG");
    }
}
