//! Brazilian documents and account numbers with valid check digits.

fn check_digit_mod11(digits: &[u32], weights: &[u32]) -> u32 {
    let r = digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// A CPF with valid check digits from its first nine digits.
pub fn cpf(base: u32) -> String {
    let mut d: Vec<u32> = format!("{:09}", base % 1_000_000_000)
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    d.push(check_digit_mod11(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.push(check_digit_mod11(&d, &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.iter()
        .map(|d| char::from_digit(*d, 10).expect("a digit"))
        .collect()
}

/// A CNPJ (head office, `/0001`) with valid check digits from its root.
pub fn cnpj(root: u32) -> String {
    let mut d: Vec<u32> = format!("{:08}0001", root % 100_000_000)
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    d.push(check_digit_mod11(&d, &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.push(check_digit_mod11(
        &d,
        &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2],
    ));
    d.iter()
        .map(|d| char::from_digit(*d, 10).expect("a digit"))
        .collect()
}

/// Whether a CPF's or CNPJ's check digits are right.
pub fn valid_document(doc: &str) -> bool {
    let d: Vec<u32> = doc
        .bytes()
        .map(|b| u32::from(b.wrapping_sub(b'0')))
        .collect();
    if d.iter().any(|x| *x > 9) {
        return false;
    }
    match d.len() {
        11 => cpf(doc[..9].parse().unwrap_or(0)) == doc,
        14 if &doc[8..12] == "0001" => cnpj(doc[..8].parse().unwrap_or(0)) == doc,
        14 => {
            let w1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
            let w2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
            check_digit_mod11(&d[..12], &w1) == d[12] && check_digit_mod11(&d[..13], &w2) == d[13]
        }
        _ => false,
    }
}

/// Modulo-11 check digit of an account number; 10 is written `X`.
pub(super) fn account_check_digit(number: &str) -> String {
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (2 + (i as u32 % 8)))
        .sum();
    match 11 - sum % 11 {
        10 => "X".into(),
        11 => "0".into(),
        d => d.to_string(),
    }
}
