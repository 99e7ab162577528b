//! T1.114's codes for what went wrong: the Reject component's Problem (type and specifier)
//! and the Abort package's P-Abort cause, typed and named as T1.114 names them.
//!
//! | Problem type (high octet) | specifiers (low octet) |
//! |---|---|
//! | 1 General | 1 Unrecognized Component Type, 2 Incorrect Component Portion, 3 Badly Structured Component Portion, 4 Incorrect Component Coding |
//! | 2 Invoke | 1 Duplicate Invoke ID, 2 Unrecognized Operation Code, 3 Incorrect Parameter, 4 Unrecognized Correlation ID |
//! | 3 Return Result | 1 Unrecognized Correlation ID, 2 Unexpected Return Result, 3 Incorrect Parameter |
//! | 4 Return Error | 1 Unrecognized Correlation ID, 2 Unexpected Return Error, 3 Unrecognized Error, 4 Unexpected Error, 5 Incorrect Parameter |
//! | 5 Transaction Portion | 1 Unrecognized Package Type, 2 Incorrect Transaction Portion, 3 Badly Structured Transaction Portion, 4 Unassigned Responding Transaction ID, 5 Permission to Release Problem, 6 Resource Unavailable |
//!
//! P-Abort causes: 1 Unrecognized Package Type, 2 Incorrect Transaction Portion, 3 Badly
//! Structured Transaction Portion, 4 Unassigned Responding Transaction ID ("unrecognized
//! transaction ID"), 5 Permission to Release Problem, 6 Resource Unavailable, 7 Unrecognized
//! Dialogue Portion ID, 8 Badly Structured Dialogue Portion, 9 Missing Dialogue Portion,
//! 10 Inconsistent Dialogue Portion.
//!
//! Each enum is defined once with its wire values and names (`t1114_codes!`, in the manner of
//! rustls' `enum_builder!`); a value T1.114 does not define is kept as `Other` and written
//! back unchanged.

use std::fmt;

/// One definition per code table: the enum, its wire values, its T1.114 names, `From<u8>`.
macro_rules! t1114_codes {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value T1.114 does not define, kept as received.
            Other(u8),
        }

        impl $name {
            /// The value on the wire.
            pub const fn code(self) -> u8 {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Other(v) => v,
                }
            }

            /// The name T1.114 gives it ("unknown" for [`Self::Other`]).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(_) => "unknown",
                }
            }
        }

        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v {
                    $( $value => Self::$variant, )*
                    v => Self::Other(v),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v.code()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} ({})", self.name(), self.code())
            }
        }
    };
}

t1114_codes! {
    /// General problems (Problem type 1).
    GeneralProblem {
        /// 1: the component type is not defined.
        UnrecognizedComponentType = 1 => "Unrecognized Component Type",
        /// 2: an unexpected or undefined identifier within the component portion.
        IncorrectComponentPortion = 2 => "Incorrect Component Portion",
        /// 3: a fundamental encoding problem (a bad length ...).
        BadlyStructuredComponentPortion = 3 => "Badly Structured Component Portion",
        /// 4: other component encoding problems.
        IncorrectComponentCoding = 4 => "Incorrect Component Coding",
    }
}

t1114_codes! {
    /// Invoke problems (Problem type 2).
    InvokeProblem {
        /// 1: the invoke ID is already in use.
        DuplicateInvokeId = 1 => "Duplicate Invoke ID",
        /// 2: the operation is not one the receiver performs.
        UnrecognizedOperationCode = 2 => "Unrecognized Operation Code",
        /// 3: the parameters are wrong for the operation.
        IncorrectParameter = 3 => "Incorrect Parameter",
        /// 4: the correlation ID names no invoke.
        UnrecognizedCorrelationId = 4 => "Unrecognized Correlation ID",
    }
}

t1114_codes! {
    /// Return Result problems (Problem type 3).
    ReturnResultProblem {
        /// 1: the correlation ID names no outstanding invoke.
        UnrecognizedCorrelationId = 1 => "Unrecognized Correlation ID",
        /// 2: the invoked operation reports no result.
        UnexpectedReturnResult = 2 => "Unexpected Return Result",
        /// 3: the result's parameters are wrong.
        IncorrectParameter = 3 => "Incorrect Parameter",
    }
}

t1114_codes! {
    /// Return Error problems (Problem type 4).
    ReturnErrorProblem {
        /// 1: the correlation ID names no outstanding invoke.
        UnrecognizedCorrelationId = 1 => "Unrecognized Correlation ID",
        /// 2: the invoked operation reports no error.
        UnexpectedReturnError = 2 => "Unexpected Return Error",
        /// 3: the error code is not defined.
        UnrecognizedError = 3 => "Unrecognized Error",
        /// 4: the error is not one this operation reports.
        UnexpectedError = 4 => "Unexpected Error",
        /// 5: the error's parameters are wrong.
        IncorrectParameter = 5 => "Incorrect Parameter",
    }
}

t1114_codes! {
    /// Transaction Portion problems (Problem type 5; T1.114-1988 reported these in a Reject,
    /// later editions prefer an Abort with the same cause).
    TransactionPortionProblem {
        /// 1: the package type is not defined.
        UnrecognizedPackageType = 1 => "Unrecognized Package Type",
        /// 2: the transaction portion is wrong for the package type.
        IncorrectTransactionPortion = 2 => "Incorrect Transaction Portion",
        /// 3: the transaction portion is badly encoded.
        BadlyStructuredTransactionPortion = 3 => "Badly Structured Transaction Portion",
        /// 4: the responding transaction ID names no transaction.
        UnassignedRespondingTransactionId = 4 => "Unassigned Responding Transaction ID",
        /// 5: a package without permission to release ended the transaction.
        PermissionToReleaseProblem = 5 => "Permission to Release Problem",
        /// 6: no resources for the transaction.
        ResourceUnavailable = 6 => "Resource Unavailable",
    }
}

t1114_codes! {
    /// Why the transaction layer aborted a transaction (the Abort package's `D7` element).
    PAbortCause {
        /// 1: the package type is not defined.
        UnrecognizedPackageType = 1 => "Unrecognized Package Type",
        /// 2: the transaction portion is wrong for the package type.
        IncorrectTransactionPortion = 2 => "Incorrect Transaction Portion",
        /// 3: the transaction portion is badly encoded.
        BadlyStructuredTransactionPortion = 3 => "Badly Structured Transaction Portion",
        /// 4: the responding transaction ID names no transaction (the "unrecognized
        /// transaction ID" abort).
        UnassignedRespondingTransactionId = 4 => "Unassigned Responding Transaction ID",
        /// 5: a package without permission to release ended the transaction.
        PermissionToReleaseProblem = 5 => "Permission to Release Problem",
        /// 6: no resources for the transaction.
        ResourceUnavailable = 6 => "Resource Unavailable",
        /// 7: the dialogue portion's identifier is not defined.
        UnrecognizedDialoguePortionId = 7 => "Unrecognized Dialogue Portion ID",
        /// 8: the dialogue portion is badly encoded.
        BadlyStructuredDialoguePortion = 8 => "Badly Structured Dialogue Portion",
        /// 9: a dialogue portion was required.
        MissingDialoguePortion = 9 => "Missing Dialogue Portion",
        /// 10: the dialogue portion contradicts the transaction.
        InconsistentDialoguePortion = 10 => "Inconsistent Dialogue Portion",
    }
}

/// A Reject component's Problem: the problem type (high octet) and its specifier (low octet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectProblem {
    /// Type 1: general (component portion) problems.
    General(GeneralProblem),
    /// Type 2: problems with an Invoke.
    Invoke(InvokeProblem),
    /// Type 3: problems with a ReturnResult.
    ReturnResult(ReturnResultProblem),
    /// Type 4: problems with a ReturnError.
    ReturnError(ReturnErrorProblem),
    /// Type 5: transaction portion problems.
    TransactionPortion(TransactionPortionProblem),
    /// A problem type T1.114 does not define, kept as received.
    Other {
        /// The problem type octet.
        problem_type: u8,
        /// The specifier octet.
        specifier: u8,
    },
}

impl RejectProblem {
    /// The two octets as one number, type in the high octet (Invoke / Unrecognized Operation
    /// Code is 0x0202).
    pub const fn code(self) -> u16 {
        let (t, s) = match self {
            Self::General(p) => (1, p.code()),
            Self::Invoke(p) => (2, p.code()),
            Self::ReturnResult(p) => (3, p.code()),
            Self::ReturnError(p) => (4, p.code()),
            Self::TransactionPortion(p) => (5, p.code()),
            Self::Other {
                problem_type,
                specifier,
            } => (problem_type, specifier),
        };
        ((t as u16) << 8) | s as u16
    }

    /// The problem type's name as T1.114 writes it.
    pub const fn type_name(self) -> &'static str {
        match self {
            Self::General(_) => "General",
            Self::Invoke(_) => "Invoke",
            Self::ReturnResult(_) => "Return Result",
            Self::ReturnError(_) => "Return Error",
            Self::TransactionPortion(_) => "Transaction Portion",
            Self::Other { .. } => "unknown",
        }
    }

    /// The specifier's name as T1.114 writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::General(p) => p.name(),
            Self::Invoke(p) => p.name(),
            Self::ReturnResult(p) => p.name(),
            Self::ReturnError(p) => p.name(),
            Self::TransactionPortion(p) => p.name(),
            Self::Other { .. } => "unknown",
        }
    }
}

impl From<u16> for RejectProblem {
    fn from(code: u16) -> Self {
        let [t, s] = code.to_be_bytes();
        match t {
            1 => Self::General(s.into()),
            2 => Self::Invoke(s.into()),
            3 => Self::ReturnResult(s.into()),
            4 => Self::ReturnError(s.into()),
            5 => Self::TransactionPortion(s.into()),
            _ => Self::Other {
                problem_type: t,
                specifier: s,
            },
        }
    }
}

impl From<RejectProblem> for u16 {
    fn from(p: RejectProblem) -> u16 {
        p.code()
    }
}

impl fmt::Display for RejectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} problem: {} ({:#06x})",
            self.type_name(),
            self.name(),
            self.code()
        )
    }
}

/// The two octets in hexadecimal (`{:#06x}` gives `0x0202`).
impl fmt::LowerHex for RejectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.code(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_match_t1114() {
        let p = RejectProblem::Invoke(InvokeProblem::UnrecognizedOperationCode);
        assert_eq!(p.code(), 0x0202);
        assert_eq!(RejectProblem::from(0x0202), p);
        assert_eq!(format!("{p:#06x}"), "0x0202");
        assert_eq!(
            p.to_string(),
            "Invoke problem: Unrecognized Operation Code (0x0202)"
        );
        assert_eq!(
            RejectProblem::from(0x0101),
            RejectProblem::General(GeneralProblem::UnrecognizedComponentType)
        );
        assert_eq!(
            RejectProblem::from(0x0504),
            RejectProblem::TransactionPortion(
                TransactionPortionProblem::UnassignedRespondingTransactionId
            )
        );
        assert_eq!(
            RejectProblem::from(0x0405),
            RejectProblem::ReturnError(ReturnErrorProblem::IncorrectParameter)
        );
        assert_eq!(
            RejectProblem::from(0x0302),
            RejectProblem::ReturnResult(ReturnResultProblem::UnexpectedReturnResult)
        );
        assert_eq!(
            PAbortCause::from(4),
            PAbortCause::UnassignedRespondingTransactionId
        );
        assert_eq!(PAbortCause::BadlyStructuredTransactionPortion.code(), 3);
        assert_eq!(
            PAbortCause::from(10).name(),
            "Inconsistent Dialogue Portion"
        );
    }

    #[test]
    fn unknown_values_are_kept() {
        for code in 0..=u16::MAX {
            assert_eq!(RejectProblem::from(code).code(), code);
        }
        for code in 0..=u8::MAX {
            assert_eq!(PAbortCause::from(code).code(), code);
            assert_eq!(GeneralProblem::from(code).code(), code);
        }
        assert_eq!(PAbortCause::from(11), PAbortCause::Other(11));
        assert_eq!(
            RejectProblem::from(0x0901),
            RejectProblem::Other {
                problem_type: 9,
                specifier: 1
            }
        );
        assert_eq!(RejectProblem::from(0x0209).name(), "unknown");
    }
}
