//! A tiny, panic-free DER reader and writer: just what GSS-API and SPNEGO need.
//!
//! Only single-byte tags (tag number < 31) and definite lengths (short form, or long
//! form of at most four length octets) are supported; indefinite lengths, high tag
//! numbers and lengths running past the input are errors (X.690 8.1.2, 8.1.3).

use core::fmt;

use super::AuthError;

/// Universal and context tags used by SPNEGO (X.690 8.1.2; RFC 4178 4.2).
pub mod tag {
    /// BIT STRING (universal 3).
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING (universal 4).
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER (universal 6).
    pub const OID: u8 = 0x06;
    /// ENUMERATED (universal 10).
    pub const ENUMERATED: u8 = 0x0a;
    /// GeneralString (universal 27).
    pub const GENERAL_STRING: u8 = 0x1b;
    /// SEQUENCE / SEQUENCE OF (universal 16, constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// `[APPLICATION 0]`, constructed: the GSS-API InitialContextToken (RFC 2743 3.1).
    pub const APPLICATION_0: u8 = 0x60;

    /// A constructed context-specific tag `[n]` (n < 31).
    pub const fn context(n: u8) -> u8 {
        0xa0 | (n & 0x1f)
    }
}

/// A DER decoding error, naming what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerError(pub &'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DER: {}", self.0)
    }
}

impl std::error::Error for DerError {}

impl From<DerError> for AuthError {
    fn from(e: DerError) -> Self {
        Self::Malformed(e.0)
    }
}

/// One decoded tag-length-value element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// The whole element, identifier and length octets included.
    pub raw: &'a [u8],
}

/// A cursor over a sequence of DER elements.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether all input has been consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The identifier octet of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next element.
    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let (&tag, rest) = self.data.split_first().ok_or(DerError("truncated tag"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("high tag numbers are not supported"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(DerError("indefinite length"));
            }
            if n > 4 {
                return Err(DerError("length too large"));
            }
            let (octets, r) = rest
                .split_at_checked(n)
                .ok_or(DerError("truncated length"))?;
            rest = r;
            octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let (value, _) = rest
            .split_at_checked(len)
            .ok_or(DerError("length exceeds input"))?;
        let header = self.data.len() - rest.len();
        let total = header + len;
        let raw = &self.data[..total];
        self.data = &self.data[total..];
        Ok(Tlv { tag, value, raw })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(DerError("unexpected tag"));
        }
        Ok(tlv)
    }

    /// Reads the next element if it carries `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless all input was consumed.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError("trailing data"))
        }
    }
}

/// Reads exactly one element spanning all of `data`.
pub fn read_single(data: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut r = Reader::new(data);
    let tlv = r.expect(tag)?;
    r.finish()?;
    Ok(tlv)
}

/// Decodes an ENUMERATED value that fits in a `u32` (X.690 8.4).
pub fn read_enumerated(value: &[u8]) -> Result<u32, DerError> {
    if value.is_empty() || value.len() > 5 || (value.len() == 5 && value[0] != 0) {
        return Err(DerError("bad ENUMERATED"));
    }
    if value[0] & 0x80 != 0 {
        return Err(DerError("negative ENUMERATED"));
    }
    Ok(value.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// Formats OID contents octets as dotted decimal (X.690 8.19), or `None` if malformed.
pub fn oid_to_string(value: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    let mut in_arc = false;
    for &b in value {
        if !in_arc && b == 0x80 {
            return None; // non-minimal encoding
        }
        acc = acc.checked_mul(128)? | u64::from(b & 0x7f);
        in_arc = b & 0x80 != 0;
        if !in_arc {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    let parts: Vec<String> = arcs.iter().map(u64::to_string).collect();
    Some(parts.join("."))
}

/// Appends the DER length octets for `len` (X.690 8.1.3, definite form).
pub fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes one element.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    write_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// Encodes a constructed element from already-encoded children.
pub fn constructed(tag: u8, children: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &children.concat())
}

/// Encodes an ENUMERATED in the minimal number of octets.
pub fn enumerated(v: u32) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 3 && bytes[start] == 0 && bytes[start + 1] & 0x80 == 0 {
        start += 1;
    }
    let mut value = Vec::with_capacity(5);
    if bytes[start] & 0x80 != 0 {
        value.push(0); // keep it non-negative
    }
    value.extend_from_slice(&bytes[start..]);
    tlv(tag::ENUMERATED, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_form_round_trip() {
        let v = vec![7u8; 300];
        let enc = tlv(tag::OCTET_STRING, &v);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let t = read_single(&enc, tag::OCTET_STRING).unwrap();
        assert_eq!(t.value, &v[..]);
        assert_eq!(t.raw, &enc[..]);
    }

    #[test]
    fn lies_are_errors() {
        assert!(Reader::new(&[0x04, 0x05, 1, 2]).read().is_err());
        assert!(Reader::new(&[0x04, 0x80, 0, 0]).read().is_err());
        assert!(Reader::new(&[0x04, 0x85, 1, 1, 1, 1, 1]).read().is_err());
        assert!(
            Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff])
                .read()
                .is_err()
        );
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).read().is_err());
    }

    #[test]
    fn oid_and_enum() {
        assert_eq!(
            oid_to_string(&[0x2b, 6, 1, 5, 5, 2]).as_deref(),
            Some("1.3.6.1.5.5.2")
        );
        assert_eq!(oid_to_string(&[0x2b, 0x86]), None);
        assert_eq!(enumerated(1), vec![0x0a, 0x01, 0x01]);
        assert_eq!(enumerated(0x80), vec![0x0a, 0x02, 0x00, 0x80]);
        assert_eq!(read_enumerated(&[0x00, 0x80]), Ok(0x80));
        assert!(read_enumerated(&[]).is_err());
    }
}
