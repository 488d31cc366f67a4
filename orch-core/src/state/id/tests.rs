use super::*;

#[test]
fn orders_like_the_strings() {
    let long = "x".repeat(50);
    let mut ids = [
        "b",
        "a",
        "",
        "ab",
        long.as_str(),
        "8ba85cef-1234-5678-9abc-def012345678",
        "8ba85cef-1234-5678-9abc-def012345679",
        "8ba85cef-1234-5678-9abc-def01234567",
        "8BA85CEF-1234-5678-9abc-def012345678",
        "8ba85cef-1234-5678-9abc-def012345678x",
        "8ba85cef-1234-5678-9abc-def01234567g",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "8ba85cef_1234-5678-9abc-def012345678",
    ];
    let mut keys: Vec<Id> = ids.iter().map(|s| Id::new(s)).collect();
    keys.sort();
    ids.sort();
    let back: Vec<String> = keys.iter().map(Id::to_string).collect();
    assert_eq!(back, ids);
    assert_eq!(Id::new(&long), Id::new(&long));
    assert_ne!(Id::new("a"), Id::new("a\0"));
    assert_eq!(std::mem::size_of::<Id>(), 24);
}

#[test]
fn every_pair_compares_as_its_strings() {
    let words = [
        "",
        "a",
        "a\0",
        "0",
        "8ba85cef-1234-5678-9abc-def012345678",
        "8ba85cef-1234-5678-9abc-def012345678\0",
        "8ba85cef-1234-5678-9abc-def0123456",
        "8ba85cef-1234-5678-9abc-def012345677",
        "8ba85cef-1234-5678-9abc-def01234567-",
        "9",
        "ffffffff-ffff-ffff-ffff-fffffffffffg",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "g",
    ];
    for x in words {
        for y in words {
            assert_eq!(Id::new(x).cmp(&Id::new(y)), x.cmp(y), "{x:?} vs {y:?}");
            assert_eq!(Id::new(x) == Id::new(y), x == y, "{x:?} == {y:?}");
        }
    }
}

#[test]
fn a_uuid_round_trips_through_its_bytes() {
    let s = "0123abcd-4567-89ef-fedc-ba9876543210";
    assert!(matches!(Id::new(s).0, Repr::Uuid(_)));
    assert_eq!(Id::new(s).to_string(), s);
    assert_eq!(format!("{:?}", Id::new(s)), format!("{s:?}"));
}

/// The digit-by-digit decode `parse_uuid` replaced: the reference it must agree with.
fn parse_by_digits(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || DASHES.iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 16];
    for (byte, &at) in out.iter_mut().zip(&PAIRS) {
        *byte = digit(b[at])? << 4 | digit(b[at + 1])?;
    }
    Some(out)
}

#[test]
fn every_byte_in_every_place_parses_as_the_digit_decode_says() {
    let base = *b"0123abcd-4567-89ef-fedc-ba9876543210";
    for at in 0..base.len() {
        for c in 0..=255u8 {
            let mut b = base;
            b[at] = c;
            if let Ok(s) = std::str::from_utf8(&b) {
                assert_eq!(parse_uuid(s), parse_by_digits(s), "{s:?}");
            }
        }
    }
}

proptest::proptest! {
    /// Random UUID-shaped strings (digits, letters past `f`, capitals, stray bytes)
    /// parse exactly as the digit-by-digit decode does.
    #[test]
    fn parses_as_the_digit_decode(
        digits in proptest::collection::vec(
            proptest::prop_oneof![
                8 => proptest::sample::select(b"0123456789abcdef".to_vec()),
                1 => proptest::sample::select(b"gzAF-/:@`G ".to_vec()),
            ],
            36,
        ),
    ) {
        let mut b = digits;
        for i in DASHES {
            b[i] = b'-';
        }
        let s = String::from_utf8(b).unwrap_or_default();
        proptest::prop_assert_eq!(parse_uuid(&s), parse_by_digits(&s));
    }
}
