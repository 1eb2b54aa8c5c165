//! nom plumbing shared by the parsers: the error type nom carries, and the public
//! [`Status`] of a streaming parse.

use crate::DecodeError;
use nom::error::{ErrorKind, ParseError};

/// Outcome of parsing a prefix of a stream that may not have arrived in full yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// A complete item, and how many input octets it used.
    Done(T, usize),
    /// The input is a valid prefix; at least this many more octets are needed.
    NeedMore(usize),
}

impl<T> Status<T> {
    /// The item, if complete.
    pub fn done(self) -> Option<T> {
        match self {
            Status::Done(value, _) => Some(value),
            Status::NeedMore(_) => None,
        }
    }

    /// Applies `f` to a complete item.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Done(value, used) => Status::Done(f(value), used),
            Status::NeedMore(n) => Status::NeedMore(n),
        }
    }
}

/// The error type threaded through nom: either nom's own (a combinator ran out of input in
/// `complete` mode, which the callers map to a typed error) or a ZMTP rule that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PError {
    Nom(ErrorKind),
    // Boxed: errors are rare, and a small error type keeps every nom result small on the
    // hot path (a 64-octet error made frame decoding ~2x slower).
    Zmtp(Box<DecodeError>),
}

impl<I> ParseError<I> for PError {
    fn from_error_kind(_input: I, kind: ErrorKind) -> Self {
        PError::Nom(kind)
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, O> = nom::IResult<&'a [u8], O, PError>;

/// Fails the parse with a ZMTP error (not recoverable by `alt`).
pub(crate) fn fail<'a, O>(error: DecodeError) -> PResult<'a, O> {
    Err(nom::Err::Failure(PError::Zmtp(Box::new(error))))
}

/// Converts a streaming nom result over `input` into a [`Status`].
///
/// `on_nom` turns a nom-internal error (which the streaming parsers here never raise, but the
/// type allows) into a typed error.
#[inline]
pub(crate) fn status<'a, O>(
    input: &'a [u8],
    result: PResult<'a, O>,
    on_nom: impl FnOnce() -> DecodeError,
) -> Result<Status<O>, DecodeError> {
    match result {
        Ok((rest, value)) => Ok(Status::Done(value, input.len() - rest.len())),
        Err(nom::Err::Incomplete(needed)) => Ok(Status::NeedMore(match needed {
            nom::Needed::Size(n) => n.get(),
            nom::Needed::Unknown => 1,
        })),
        Err(nom::Err::Error(PError::Zmtp(e)) | nom::Err::Failure(PError::Zmtp(e))) => Err(*e),
        Err(nom::Err::Error(PError::Nom(_)) | nom::Err::Failure(PError::Nom(_))) => Err(on_nom()),
    }
}

/// Converts a `complete`-mode nom result into a typed result; `on_nom` maps running out of
/// input to the right error.
pub(crate) fn complete<'a, O>(
    result: PResult<'a, O>,
    on_nom: impl FnOnce() -> DecodeError,
) -> Result<(&'a [u8], O), DecodeError> {
    match result {
        Ok(ok) => Ok(ok),
        Err(nom::Err::Error(PError::Zmtp(e)) | nom::Err::Failure(PError::Zmtp(e))) => Err(*e),
        Err(_) => Err(on_nom()),
    }
}
