//! ISO 3166-1 alpha-2 codes for Arabic mentions of sovereign states.
//!
//! The names come from the project's own table `data/countries.tsv` (all 193
//! UN member states, two observer states and a few other territories), which
//! is compiled into the binary and parsed once on first use.
//!
//! A mention is looked up through a folded key: diacritics, tatweel and
//! invisible marks are removed, hamza forms of alef become ا, ة becomes ه,
//! ى becomes ي, and a leading clitic (و ف ب ل ك, or لل for ل + ال) is
//! stripped only when the bare mention is not a name but the stripped one
//! is.  Only names of the state itself match: capitals and other cities
//! (واشنطن, القاهرة) and nationality adjectives (الفرنسي, المصرية) give
//! `None`.  A few names are deliberately absent because they are shared by
//! two places; see the header of the data file.

use crate::text::clitics::clitic_prefixes;
use crate::text::fold::fold_char;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// The committed country table.
const DATA: &str = include_str!("../../data/countries.tsv");

/// Returns the ISO 3166-1 alpha-2 code of the state that `mention` names.
///
/// `mention` is the entity text exactly as it appears in the input; it may
/// carry diacritics, tatweel, a leading clitic or the article.  Returns
/// `None` for anything that is not the name of a state in the table, in
/// particular for cities, capitals and nationality adjectives.
///
/// ```
/// # use arabic_ner::values::country::country_code;
/// assert_eq!(country_code("والولايات المتحدة"), Some("US"));
/// assert_eq!(country_code("للهند"), Some("IN"));
/// assert_eq!(country_code("الفرنسي"), None);
/// assert_eq!(country_code("واشنطن"), None);
/// ```
pub fn country_code(mention: &str) -> Option<&'static str> {
    let table = table();
    let key = fold(mention);
    if key.is_empty() {
        return None;
    }
    if let Some(code) = table.code_of(&key) {
        return Some(code);
    }
    let candidates = clitic_candidates(&key);
    if let Some(code) = candidates.iter().find_map(|k| table.code_of(k)) {
        return Some(code);
    }
    // عمان is Oman (عُمان) or Amman (عَمّان); accept it only when the
    // damma says which.
    let is_bare_oman = key == OMAN_KEY || candidates.iter().any(|k| k == OMAN_KEY);
    if is_bare_oman && written_as_oman(mention) {
        return Some("OM");
    }
    None
}

/// Returns the English short name for an ISO 3166-1 alpha-2 `code` of the
/// table (case-insensitive), e.g. `"EG"` -> `"Egypt"`.
pub fn country_name_en(code: &str) -> Option<&'static str> {
    table()
        .countries
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .map(|c| c.name_en)
}

/// The Arabic names of a code as listed in the table, common name first.
pub fn country_names_ar(code: &str) -> Option<&'static [&'static str]> {
    table()
        .countries
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .map(|c| c.names_ar.as_slice())
}

/// Whether a code of the table is a UN member state (`false` for the
/// observer states PS and VA and for other territories); `None` for a code
/// the table lacks.
pub fn is_un_member(code: &str) -> Option<bool> {
    table()
        .countries
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .map(|c| c.status == Status::Member)
}

/// Folded spelling of عمان, the one ambiguous name resolved by diacritics.
const OMAN_KEY: &str = "عمان";

/// True when the mention writes عُمان with a damma on the ain and without
/// the shadda of عَمّان.
fn written_as_oman(mention: &str) -> bool {
    let chars: Vec<char> = mention.chars().filter(|&c| c != '\u{0640}').collect();
    let damma_on_ain = chars
        .windows(2)
        .any(|pair| pair[0] == 'ع' && pair[1] == '\u{064F}');
    damma_on_ain && !mention.contains('\u{0651}')
}

/// UN status of a row (4th column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Member,
    Observer,
    Other,
}

/// One row of the table.
#[derive(Debug)]
struct Country {
    code: &'static str,
    name_en: &'static str,
    names_ar: Vec<&'static str>,
    status: Status,
}

/// The parsed table with its folded-name index.
#[derive(Debug)]
struct CountryTable {
    countries: Vec<Country>,
    by_key: HashMap<String, usize>,
}

impl CountryTable {
    fn code_of(&self, key: &str) -> Option<&'static str> {
        self.by_key
            .get(key)
            .and_then(|&i| self.countries.get(i))
            .map(|c| c.code)
    }
}

/// A malformed line of the country table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TableError {
    /// 1-based line number in the data file.
    line: usize,
    message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data/countries.tsv line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TableError {}

/// The table, parsed on first use.
fn table() -> &'static CountryTable {
    static TABLE: OnceLock<CountryTable> = OnceLock::new();
    TABLE.get_or_init(|| match parse_table(DATA) {
        Ok(table) => table,
        // Only reachable if the committed data file is broken, which the
        // table tests catch before release.
        Err(e) => panic!("{e}"),
    })
}

/// Parses the TSV table; the first malformed line is reported with its number.
fn parse_table(text: &'static str) -> Result<CountryTable, TableError> {
    let mut countries: Vec<Country> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let row = raw.trim_end_matches('\r');
        if row.trim().is_empty() || row.starts_with('#') {
            continue;
        }
        let err = |message: String| TableError { line, message };
        let cols: Vec<&'static str> = row.split('\t').collect();
        if cols.len() != 4 {
            return Err(err(format!(
                "expected 4 tab-separated columns, found {}",
                cols.len()
            )));
        }
        let code = cols[0].trim();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err(format!(
                "{code:?} is not a two-letter upper-case ISO code"
            )));
        }
        if countries.iter().any(|c| c.code == code) {
            return Err(err(format!("code {code} appears twice")));
        }
        let name_en = cols[1].trim();
        if name_en.is_empty() {
            return Err(err("empty English name".to_string()));
        }
        let status = match cols[3].trim() {
            "member" => Status::Member,
            "observer" => Status::Observer,
            "other" => Status::Other,
            s => {
                return Err(err(format!(
                    "status {s:?} is not one of member, observer, other"
                )))
            }
        };
        let row_index = countries.len();
        let mut names_ar = Vec::new();
        for name in cols[2].split('|').map(str::trim) {
            if !name.chars().any(is_arabic_letter) {
                return Err(err(format!("{name:?} is not an Arabic name")));
            }
            let key = fold(name);
            if let Some(&other) = by_key.get(&key) {
                let owner = countries.get(other).map_or(code, |c| c.code);
                return Err(err(format!(
                    "{name:?} folds to {key:?}, already a name of {owner}"
                )));
            }
            by_key.insert(key, row_index);
            names_ar.push(name);
        }
        countries.push(Country {
            code,
            name_en,
            names_ar,
            status,
        });
    }
    Ok(CountryTable { countries, by_key })
}

fn is_arabic_letter(c: char) -> bool {
    matches!(c, '\u{0621}'..='\u{064A}' | '\u{0671}'..='\u{06D3}')
}

/// Folds a name or mention to its lookup key: folded as every look-up is
/// ([`fold_char`]), lower case, single spaces, a lone conjunction و joined
/// to the next word.
fn fold(text: &str) -> String {
    let mut letters = String::with_capacity(text.len());
    for c in text.chars().filter_map(fold_char) {
        if c.is_alphabetic() {
            letters.extend(c.to_lowercase());
        } else {
            // hyphens, punctuation and spaces all separate words
            letters.push(' ');
        }
    }
    let mut key = String::with_capacity(letters.len());
    let mut pending_wa = false;
    for word in letters.split_whitespace() {
        if !key.is_empty() && !pending_wa {
            key.push(' ');
        }
        pending_wa = word == "و";
        key.push_str(word);
    }
    // A trailing lone و has nothing to attach to.
    if pending_wa {
        key.pop();
        if key.ends_with(' ') {
            key.pop();
        }
    }
    key
}

/// Keys left after removing a leading clitic cluster from a folded mention
/// ([`clitic_prefixes`]): an optional و or ف, then an optional ب, ل or ك
/// (ل + ال is written لل).
fn clitic_candidates(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in clitic_prefixes(key).into_iter().skip(1) {
        let rest = &key[p..];
        if rest.starts_with(' ') {
            continue;
        }
        out.push(rest.to_string());
        if key[..p].ends_with('ل') && rest.starts_with('ل') {
            out.push(format!("ا{rest}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 193 UN member states, written out independently of the data file.
    const UN_MEMBERS: [&str; 193] = [
        "AF", "AL", "DZ", "AD", "AO", "AG", "AR", "AM", "AU", "AT", "AZ", "BS", "BH", "BD", "BB",
        "BY", "BE", "BZ", "BJ", "BT", "BO", "BA", "BW", "BR", "BN", "BG", "BF", "BI", "CV", "KH",
        "CM", "CA", "CF", "TD", "CL", "CN", "CO", "KM", "CG", "CD", "CR", "CI", "HR", "CU", "CY",
        "CZ", "DK", "DJ", "DM", "DO", "EC", "EG", "SV", "GQ", "ER", "EE", "SZ", "ET", "FJ", "FI",
        "FR", "GA", "GM", "GE", "DE", "GH", "GR", "GD", "GT", "GN", "GW", "GY", "HT", "HN", "HU",
        "IS", "IN", "ID", "IR", "IQ", "IE", "IL", "IT", "JM", "JP", "JO", "KZ", "KE", "KI", "KP",
        "KR", "KW", "KG", "LA", "LV", "LB", "LS", "LR", "LY", "LI", "LT", "LU", "MG", "MW", "MY",
        "MV", "ML", "MT", "MH", "MR", "MU", "MX", "FM", "MD", "MC", "MN", "ME", "MA", "MZ", "MM",
        "NA", "NR", "NP", "NL", "NZ", "NI", "NE", "NG", "MK", "NO", "OM", "PK", "PW", "PA", "PG",
        "PY", "PE", "PH", "PL", "PT", "QA", "RO", "RU", "RW", "KN", "LC", "VC", "WS", "SM", "ST",
        "SA", "SN", "RS", "SC", "SL", "SG", "SK", "SI", "SB", "SO", "ZA", "SS", "ES", "LK", "SD",
        "SR", "SE", "CH", "SY", "TJ", "TZ", "TH", "TL", "TG", "TO", "TT", "TN", "TR", "TM", "TV",
        "UG", "UA", "AE", "GB", "US", "UY", "UZ", "VU", "VE", "VN", "YE", "ZM", "ZW",
    ];

    fn parsed() -> CountryTable {
        match parse_table(DATA) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn table_parses() {
        // Panics with the line number of the first malformed row.
        parsed();
    }

    #[test]
    fn every_un_member_has_a_name() {
        let table = parsed();
        let mut seen = std::collections::HashSet::new();
        for code in UN_MEMBERS {
            assert!(seen.insert(code), "{code} listed twice in the test");
        }
        let mut missing = Vec::new();
        for code in UN_MEMBERS {
            match table.countries.iter().find(|c| c.code == code) {
                Some(c) if !c.names_ar.is_empty() && c.status == Status::Member => {}
                Some(c) if c.status != Status::Member => {
                    missing.push(format!("{code} not marked member"))
                }
                _ => missing.push(format!("{code} has no Arabic name")),
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
        let members: Vec<&str> = table
            .countries
            .iter()
            .filter(|c| c.status == Status::Member)
            .map(|c| c.code)
            .collect();
        assert_eq!(members.len(), 193);
        assert!(members.iter().all(|c| UN_MEMBERS.contains(c)));
    }

    #[test]
    fn every_table_name_finds_its_own_code() {
        let table = parsed();
        for country in &table.countries {
            for name in &country.names_ar {
                assert_eq!(country_code(name), Some(country.code), "{name}");
            }
        }
    }

    #[test]
    fn malformed_rows_report_their_line() {
        let cases: [(&'static str, usize); 7] = [
            ("# c\nUS\tUnited States\tأمريكا\tmember\nXX\tbad\n", 3),
            ("EG\tEgypt\tمصر\n", 1),
            ("# a\n\nus\tUnited States\tأمريكا\tmember\n", 3),
            (
                "EG\tEgypt\tمصر\tmember\nEG\tEgypt\tمصر العربية\tmember\n",
                2,
            ),
            ("EG\tEgypt\tمصر\tmember\nSD\tSudan\tمصر\tmember\n", 2),
            ("EG\tEgypt\tمصر||\tmember\n", 1),
            ("EG\tEgypt\tمصر\tmembre\n", 1),
        ];
        for (text, line) in cases {
            match parse_table(text) {
                Ok(_) => panic!("accepted {text:?}"),
                Err(e) => {
                    assert_eq!(e.line, line, "{e}");
                    assert!(e.to_string().contains(&format!("line {line}")));
                }
            }
        }
    }

    #[test]
    fn mentions() {
        let cases: &[(&str, Option<&str>)] = &[
            // common, long and variant spellings
            ("أمريكا", Some("US")),
            ("أميركا", Some("US")),
            ("امريكا", Some("US")),
            ("الولايات المتحدة", Some("US")),
            ("الولايات المتحدة الأمريكية", Some("US")),
            ("الولايات المتّحدة الأميركيّة", Some("US")),
            ("الولايات  المتحدة", Some("US")),
            ("الهند", Some("IN")),
            ("اليابان", Some("JP")),
            ("السعودية", Some("SA")),
            ("السعوديه", Some("SA")),
            ("المملكة العربية السعودية", Some("SA")),
            ("جمهورية مصر العربية", Some("EG")),
            ("المانيا", Some("DE")),
            ("إيطاليا", Some("IT")),
            ("اسرائيل", Some("IL")),
            ("الامارات", Some("AE")),
            ("روسيا الاتحادية", Some("RU")),
            ("سوريا", Some("SY")),
            ("سورية", Some("SY")),
            ("الاردن", Some("JO")),
            ("جيبوتى", Some("DJ")),
            ("ليبيـــا", Some("LY")),
            ("البوسنة و الهرسك", Some("BA")),
            ("غينيا-بيساو", Some("GW")),
            ("الباكستان", Some("PK")),
            ("المملكة المتحدة", Some("GB")),
            ("كوريا الجنوبية", Some("KR")),
            ("جمهورية الكونغو الديمقراطية", Some("CD")),
            ("فلسطين", Some("PS")),
            ("سلطنة عمان", Some("OM")),
            ("عُمان", Some("OM")),
            // clitics
            ("والولايات المتحدة", Some("US")),
            ("بالولايات المتحدة", Some("US")),
            ("لأمريكا", Some("US")),
            ("للهند", Some("IN")),
            ("بالهند", Some("IN")),
            ("وبالهند", Some("IN")),
            ("لليابان", Some("JP")),
            ("والسعودية", Some("SA")),
            ("بمصر", Some("EG")),
            ("ومصر", Some("EG")),
            ("فمصر", Some("EG")),
            ("للبنان", Some("LB")),
            ("ولبنان", Some("LB")),
            ("وبِفرنسا", Some("FR")),
            // nationality adjectives
            ("الفرنسي", None),
            ("الفرنسية", None),
            ("الأمريكية", None),
            ("الأمريكي", None),
            ("أمريكي", None),
            ("المصري", None),
            ("المصرية", None),
            ("السعوديون", None),
            ("السعودي", None),
            ("السورية", None),
            // capitals and other cities
            ("واشنطن", None),
            ("القاهرة", None),
            ("باريس", None),
            ("بيروت", None),
            ("دمشق", None),
            ("بغداد", None),
            ("لندن", None),
            ("الدوحة", None),
            ("عمّان", None),
            // names shared by two places, and non-names
            ("عمان", None),
            ("الكونغو", None),
            ("كوريا", None),
            ("", None),
            ("   ", None),
            ("و", None),
            ("Egypt", None),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter(|(m, want)| country_code(m) != *want)
            .map(|(m, want)| format!("{m:?}: got {:?}, want {want:?}", country_code(m)))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn english_names() {
        assert_eq!(country_name_en("EG"), Some("Egypt"));
        assert_eq!(country_name_en("us"), Some("United States"));
        assert_eq!(country_name_en("PS"), Some("Palestine"));
        assert_eq!(country_name_en("ZZ"), None);
        assert_eq!(country_name_en(""), None);
        assert_eq!(country_names_ar("JP"), Some(&["اليابان"][..]));
        assert_eq!(is_un_member("EG"), Some(true));
        assert_eq!(is_un_member("PS"), Some(false));
        assert_eq!(is_un_member("XK"), Some(false));
        assert_eq!(is_un_member("ZZ"), None);
    }
}
