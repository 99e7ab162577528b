//! What the targets share: the round-trip check.

/// `decoded` came from the fuzz input; when `encode` accepts it, decoding its encoding gives it
/// back.
pub fn round_trip<T, E1, E2>(
    decoded: &T,
    encode: impl Fn(&T) -> Result<Vec<u8>, E1>,
    decode: impl Fn(&[u8]) -> Result<T, E2>,
) where
    T: PartialEq + std::fmt::Debug,
    E2: std::fmt::Debug,
{
    if let Ok(octets) = encode(decoded) {
        match decode(&octets) {
            Ok(again) => assert_eq!(&again, decoded, "decode(encode(x)) != x for {octets:02x?}"),
            Err(e) => panic!("decode(encode(x)) failed: {e:?} for {decoded:?} -> {octets:02x?}"),
        }
    }
}
