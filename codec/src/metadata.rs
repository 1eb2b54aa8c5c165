//! Connection metadata: the property list carried by READY and INITIATE
//! (spec/zmtp.md §6, `META-*`).
//!
//! ```text
//! metadata = *property                      ; runs to the end of the command
//! property = name-len(1) name value-len(4, u32 BE) value
//! ```

use crate::parse::{PResult, complete, fail};
use crate::{DecodeError, Strictness};
use bytes::BufMut;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u32};

/// The property naming the sender's socket type (META-07).
pub const SOCKET_TYPE: &[u8] = b"Socket-Type";
/// The property naming the sender's identity (META-08).
pub const IDENTITY: &[u8] = b"Identity";
/// The property naming the resource requested (ZMTP 3.1, META-09).
pub const RESOURCE: &[u8] = b"Resource";
/// Largest value length allowed (META-04).
pub const MAX_VALUE_LEN: u32 = 0x7FFF_FFFF;

/// One property, borrowed from the command body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Property<'a> {
    /// The name as sent (names compare case-insensitively, META-06).
    pub name: &'a [u8],
    /// The value, opaque octets.
    pub value: &'a [u8],
}

/// A validated property list. Iterating it cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Metadata<'a> {
    raw: &'a [u8],
}

impl<'a> Metadata<'a> {
    /// Validates `raw` as a complete property list.
    pub fn load(raw: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        let mut rest = raw;
        while !rest.is_empty() {
            let offset = raw.len() - rest.len();
            let (next, _) = complete(parse_property(rest, offset, strictness), || {
                DecodeError::PropertyValueOverrun { offset }
            })?;
            rest = next;
        }
        Ok(Metadata { raw })
    }

    /// The encoded property list.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The properties in wire order (duplicates included).
    pub fn iter(&self) -> Properties<'a> {
        Properties { rest: self.raw }
    }

    /// The value of the first property whose name matches `name` ignoring ASCII case (META-06).
    pub fn get(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// The value of the first property named exactly `name`, case included (libzmq's lookup).
    pub fn get_exact(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.iter().find(|p| p.name == name).map(|p| p.value)
    }

    /// The `Socket-Type` value, any case.
    pub fn socket_type(&self) -> Option<&'a [u8]> {
        self.get(SOCKET_TYPE)
    }

    /// The `Identity` value, any case.
    pub fn identity(&self) -> Option<&'a [u8]> {
        self.get(IDENTITY)
    }

    /// Octets needed to encode `properties`.
    pub fn encoded_len<'p>(properties: impl IntoIterator<Item = Property<'p>>) -> usize {
        properties
            .into_iter()
            .map(|p| {
                5usize
                    .saturating_add(p.name.len())
                    .saturating_add(p.value.len())
            })
            .fold(0usize, usize::saturating_add)
    }

    /// Writes `properties` as a property list. Names over 255 octets are cut to 255 and values
    /// over 2^31-1 octets are cut to that length. To put a lying length on the wire, write the
    /// octets yourself.
    pub fn encode<'p>(properties: impl IntoIterator<Item = Property<'p>>, dst: &mut impl BufMut) {
        for p in properties {
            let name = p.name.get(..255).unwrap_or(p.name);
            let value = p.value.get(..MAX_VALUE_LEN as usize).unwrap_or(p.value);
            dst.put_u8(name.len() as u8);
            dst.put_slice(name);
            dst.put_u32(value.len() as u32);
            dst.put_slice(value);
        }
    }
}

impl<'a> IntoIterator for Metadata<'a> {
    type Item = Property<'a>;
    type IntoIter = Properties<'a>;
    fn into_iter(self) -> Properties<'a> {
        self.iter()
    }
}

/// Iterator over the properties of a [`Metadata`].
#[derive(Debug, Clone)]
pub struct Properties<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Properties<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // Already validated by `Metadata::load`; a failure here only ends iteration.
        match parse_property(self.rest, 0, &Strictness::LENIENT) {
            Ok((rest, property)) => {
                self.rest = rest;
                Some(property)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+')
}

fn parse_property<'a>(
    input: &'a [u8],
    offset: usize,
    strictness: &Strictness,
) -> PResult<'a, Property<'a>> {
    let (input, name_len) = be_u8(input)?;
    if name_len == 0 && strictness.empty_property_name {
        return fail(DecodeError::PropertyNameEmpty { offset });
    }
    let Ok((input, name)) = take::<_, _, ()>(name_len)(input) else {
        return fail(DecodeError::PropertyNameOverrun { offset });
    };
    if strictness.property_name_grammar
        && let Some(&found) = name.iter().find(|&&b| !is_name_char(b))
    {
        return fail(DecodeError::InvalidPropertyName { offset, found });
    }
    let Ok((input, value_len)) = be_u32::<_, ()>(input) else {
        return fail(DecodeError::PropertyValueOverrun { offset });
    };
    let Ok((input, value)) = take::<_, _, ()>(value_len)(input) else {
        return fail(DecodeError::PropertyValueOverrun { offset });
    };
    // Only reachable with 2 GiB of metadata actually present.
    if value_len > MAX_VALUE_LEN {
        return fail(DecodeError::PropertyValueTooLarge { length: value_len });
    }
    Ok((input, Property { name, value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case_insensitive_lookup() {
        let props = [
            Property {
                name: b"Socket-Type",
                value: b"DEALER",
            },
            Property {
                name: b"Identity",
                value: b"",
            },
        ];
        let mut buf = Vec::new();
        Metadata::encode(props, &mut buf);
        assert_eq!(buf.len(), Metadata::encoded_len(props));
        let md = Metadata::load(&buf, &Strictness::STRICT).unwrap();
        assert_eq!(md.iter().collect::<Vec<_>>(), props);
        assert_eq!(md.get(b"socket-type"), Some(&b"DEALER"[..]));
        assert_eq!(md.get_exact(b"socket-type"), None);
    }

    #[test]
    fn lying_lengths_are_errors() {
        let s = Strictness::STRICT;
        assert_eq!(
            Metadata::load(b"\x05ab", &s),
            Err(DecodeError::PropertyNameOverrun { offset: 0 })
        );
        assert_eq!(
            Metadata::load(b"\x01a\0\0\0\x09xy", &s),
            Err(DecodeError::PropertyValueOverrun { offset: 0 })
        );
        assert_eq!(
            Metadata::load(b"\x00\0\0\0\0", &s),
            Err(DecodeError::PropertyNameEmpty { offset: 0 })
        );
        assert!(Metadata::load(b"\x00\0\0\0\0", &Strictness::LENIENT).is_ok());
    }
}
