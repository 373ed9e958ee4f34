//! Golden values for the HashTwoTower "hash"/"v2" (SPEC R-20..R-22, seed B.2-B.4).
//!
//! A std-only port of the seed's Rust tokenizer, SipHasher13, tokens_to_embedding and
//! cosine_similarity. The seed depends on the `siphasher` crate, which cannot be fetched
//! here, so SipHash-1-3 is implemented below and proven against std's DefaultHasher
//! (SipHash-1-3 with zero keys) before anything is printed.
//!
//! Usage: golden <fixtures.jsonl> [rustc version text]   (JSON on stdout)
//! Build: rustc -O --edition 2021 golden.rs

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

// The seed casts the u64 hash to usize before `% dimension`; the values only agree
// with a 64-bit usize.
const _: () = assert!(usize::BITS == 64);

const HASH_SEED_K0: u64 = 0x0123456789abcdef;
const HASH_SEED_K1: u64 = 0xfedcba9876543210;
const DIMENSIONS: [usize; 3] = [256, 7, 1];

// ---------------------------------------------------------------- SipHash-1-3

/// SipHash with 1 compression round and 3 finalisation rounds (the `siphasher`
/// crate's SipHasher13). Byte-stream oriented, so `str::hash` (bytes, then
/// `write_u8(0xff)` from Hasher's default `write_str`) is hashed exactly as Rust does.
#[derive(Clone)]
struct SipHasher13 {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
    tail: u64,
    ntail: u32,
    length: u64,
}

impl SipHasher13 {
    fn new_with_keys(k0: u64, k1: u64) -> Self {
        SipHasher13 {
            v0: k0 ^ 0x736f6d6570736575,
            v1: k1 ^ 0x646f72616e646f6d,
            v2: k0 ^ 0x6c7967656e657261,
            v3: k1 ^ 0x7465646279746573,
            tail: 0,
            ntail: 0,
            length: 0,
        }
    }

    fn sip_round(&mut self) {
        self.v0 = self.v0.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(13);
        self.v1 ^= self.v0;
        self.v0 = self.v0.rotate_left(32);
        self.v2 = self.v2.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(16);
        self.v3 ^= self.v2;
        self.v0 = self.v0.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(21);
        self.v3 ^= self.v0;
        self.v2 = self.v2.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(17);
        self.v1 ^= self.v2;
        self.v2 = self.v2.rotate_left(32);
    }

    fn compress(&mut self, m: u64) {
        self.v3 ^= m;
        self.sip_round();
        self.v0 ^= m;
    }
}

impl Hasher for SipHasher13 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.tail |= (b as u64) << (8 * self.ntail);
            self.ntail += 1;
            self.length = self.length.wrapping_add(1);
            if self.ntail == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.ntail = 0;
            }
        }
    }

    fn finish(&self) -> u64 {
        let mut s = self.clone();
        let last = ((s.length & 0xff) << 56) | s.tail;
        s.compress(last);
        s.v2 ^= 0xff;
        for _ in 0..3 {
            s.sip_round();
        }
        s.v0 ^ s.v1 ^ s.v2 ^ s.v3
    }
}

fn token_hash(token: &str) -> u64 {
    let mut hasher = SipHasher13::new_with_keys(HASH_SEED_K0, HASH_SEED_K1);
    token.hash(&mut hasher);
    hasher.finish()
}

/// Panics unless our SipHash-1-3 with keys (0, 0) equals std's DefaultHasher.
fn assert_siphash_matches_std(strings: &BTreeSet<String>) -> usize {
    for s in strings {
        let mut ours = SipHasher13::new_with_keys(0, 0);
        s.hash(&mut ours);
        let mut std_hasher = DefaultHasher::new();
        s.hash(&mut std_hasher);
        assert_eq!(
            ours.finish(),
            std_hasher.finish(),
            "SipHash-1-3 differs from DefaultHasher for {:?}",
            s
        );
    }
    strings.len()
}

// ------------------------------------------------------------- seed B.1 / B.3

#[derive(Debug, Clone, Default, PartialEq)]
struct Project {
    id: Option<i64>,
    required_skills_keywords: Vec<String>,
    preferred_skills_keywords: Vec<String>,
    work_todofuken: Option<String>,
    work_area: Option<String>,
    work_station: Option<String>,
    remote_onsite: Option<String>,
    min_experience_years: Option<i32>,
    contract_type: Option<String>,
    monthly_tanka_max: Option<i32>,
    japanese_skill: Option<String>,
    english_skill: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Talent {
    id: Option<i64>,
    possessed_skills_keywords: Vec<String>,
    residential_todofuken: Option<String>,
    residential_area: Option<String>,
    nearest_station: Option<String>,
    desired_remote_onsite: Option<String>,
    min_experience_years: Option<i32>,
    primary_contract_type: Option<String>,
    desired_price_min: Option<i32>,
    japanese_skill: Option<String>,
    english_skill: Option<String>,
}

#[derive(Debug, Clone)]
struct WeightedToken {
    token: String,
    weight: f32,
}

impl WeightedToken {
    fn new(token: impl Into<String>, weight: f32) -> Self {
        Self { token: token.into(), weight }
    }
}

fn tokenize_project(project: &Project) -> Vec<WeightedToken> {
    let mut tokens = Vec::new();
    for skill in &project.required_skills_keywords {
        tokens.push(WeightedToken::new(format!("skill:{}", skill.to_lowercase()), 2.0));
    }
    for skill in &project.preferred_skills_keywords {
        tokens.push(WeightedToken::new(format!("skill:{}", skill.to_lowercase()), 1.0));
    }
    if let Some(ref pref) = project.work_todofuken {
        tokens.push(WeightedToken::new(format!("loc:{}", pref), 1.5));
    }
    if let Some(ref area) = project.work_area {
        tokens.push(WeightedToken::new(format!("loc:area:{}", area), 1.0));
    }
    if let Some(ref station) = project.work_station {
        tokens.push(WeightedToken::new(format!("loc:station:{}", station), 0.5));
    }
    if let Some(ref remote) = project.remote_onsite {
        tokens.push(WeightedToken::new(format!("remote:{}", remote), 1.5));
    }
    if let Some(years) = project.min_experience_years {
        tokens.push(WeightedToken::new(format!("exp:{}", exp_years_bucket(years)), 1.0));
    }
    if let Some(ref contract) = project.contract_type {
        tokens.push(WeightedToken::new(format!("contract:{}", contract), 1.0));
    }
    if let Some(max_tanka) = project.monthly_tanka_max {
        tokens.push(WeightedToken::new(format!("tanka:{}", tanka_bucket(max_tanka)), 1.0));
    }
    if let Some(ref ja) = project.japanese_skill {
        tokens.push(WeightedToken::new(format!("lang:ja:{}", ja), 1.0));
    }
    if let Some(ref en) = project.english_skill {
        tokens.push(WeightedToken::new(format!("lang:en:{}", en), 1.0));
    }
    tokens
}

fn tokenize_talent(talent: &Talent) -> Vec<WeightedToken> {
    let mut tokens = Vec::new();
    for skill in &talent.possessed_skills_keywords {
        tokens.push(WeightedToken::new(format!("skill:{}", skill.to_lowercase()), 1.0));
    }
    if let Some(ref pref) = talent.residential_todofuken {
        tokens.push(WeightedToken::new(format!("loc:{}", pref), 1.5));
    }
    if let Some(ref area) = talent.residential_area {
        tokens.push(WeightedToken::new(format!("loc:area:{}", area), 1.0));
    }
    if let Some(ref station) = talent.nearest_station {
        tokens.push(WeightedToken::new(format!("loc:station:{}", station), 0.5));
    }
    if let Some(ref remote) = talent.desired_remote_onsite {
        tokens.push(WeightedToken::new(format!("remote:{}", remote), 1.5));
    }
    if let Some(years) = talent.min_experience_years {
        tokens.push(WeightedToken::new(format!("exp:{}", exp_years_bucket(years)), 1.0));
    }
    if let Some(ref contract) = talent.primary_contract_type {
        tokens.push(WeightedToken::new(format!("contract:{}", contract), 1.0));
    }
    if let Some(min_price) = talent.desired_price_min {
        tokens.push(WeightedToken::new(format!("tanka:{}", tanka_bucket(min_price)), 1.0));
    }
    if let Some(ref ja) = talent.japanese_skill {
        tokens.push(WeightedToken::new(format!("lang:ja:{}", ja), 1.0));
    }
    if let Some(ref en) = talent.english_skill {
        tokens.push(WeightedToken::new(format!("lang:en:{}", en), 1.0));
    }
    tokens
}

fn exp_years_bucket(years: i32) -> &'static str {
    match years {
        0..=2 => "0-2",
        3..=5 => "3-5",
        6..=10 => "6-10",
        _ => "11+",
    }
}

/// The seed takes u32; the database column is a signed int and SPEC R-20 defines
/// under30 as `< 300000`, so negatives land in under30 (not in 100+ as a cast would).
fn tanka_bucket(tanka: i32) -> &'static str {
    match tanka {
        i32::MIN..=299999 => "under30",
        300000..=499999 => "30-50",
        500000..=699999 => "50-70",
        700000..=999999 => "70-100",
        _ => "100+",
    }
}

// ------------------------------------------------------------- seed B.2 / B.4

fn hash_index(token: &str, dimension: usize) -> usize {
    (token_hash(token) as usize) % dimension
}

fn tokens_to_embedding(tokens: &[WeightedToken], dimension: usize) -> Vec<f32> {
    let mut vector = vec![0.0f32; dimension];
    for wt in tokens {
        let idx = hash_index(&wt.token, dimension);
        let sign = if hash_index(&format!("{}_sign", wt.token), dimension) % 2 == 0 {
            1.0
        } else {
            -1.0
        };
        vector[idx] += sign * wt.weight;
    }
    let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for v in &mut vector {
            *v /= norm;
        }
    }
    vector
}

fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "embedding dimension mismatch");
    let dot: f32 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
    let norm_a: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm_b: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm_a == 0.0 || norm_b == 0.0 {
        return 0.0;
    }
    ((dot / (norm_a * norm_b)) + 1.0) / 2.0
}

// ------------------------------------------------------------------ tiny JSON

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    line: &'a str,
}

impl<'a> Parser<'a> {
    fn parse_line(line: &'a str) -> Result<Json, String> {
        let mut p = Parser { chars: line.chars().collect(), pos: 0, line };
        let value = p.value()?;
        p.skip_ws();
        if p.pos != p.chars.len() {
            return Err(p.error("trailing characters"));
        }
        Ok(value)
    }

    fn error(&self, what: &str) -> String {
        format!("{} at character {} of line {:?}", what, self.pos, self.line)
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && matches!(self.chars[self.pos], ' ' | '\t' | '\r' | '\n') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {:?}", c)))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        for c in word.chars() {
            self.expect(c)?;
        }
        Ok(value)
    }

    fn value(&mut self) -> Result<Json, String> {
        self.skip_ws();
        match self.peek() {
            Some('n') => self.literal("null", Json::Null),
            Some('t') => self.literal("true", Json::Bool(true)),
            Some('f') => self.literal("false", Json::Bool(false)),
            Some('"') => Ok(Json::Str(self.string()?)),
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(']') {
                    self.pos += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some(']') => {
                            self.pos += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(self.error("expected ',' or ']'")),
                    }
                }
            }
            Some('{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.pos += 1;
                    return Ok(Json::Obj(members));
                }
                loop {
                    self.skip_ws();
                    let key = self.string()?;
                    self.skip_ws();
                    self.expect(':')?;
                    let value = self.value()?;
                    if members.iter().any(|(k, _)| *k == key) {
                        return Err(self.error(&format!("duplicate key {:?}", key)));
                    }
                    members.push((key, value));
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some('}') => {
                            self.pos += 1;
                            return Ok(Json::Obj(members));
                        }
                        _ => return Err(self.error("expected ',' or '}'")),
                    }
                }
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                if text.parse::<f64>().is_err() {
                    return Err(self.error(&format!("bad number {:?}", text)));
                }
                Ok(Json::Num(text))
            }
            _ => Err(self.error("expected a JSON value")),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self.peek().and_then(|c| c.to_digit(16)).ok_or_else(|| self.error("bad \\u escape"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or_else(|| self.error("unterminated string"))?;
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.peek().ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos += 1;
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.expect('\\')?;
                                self.expect('u')?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).ok_or_else(|| self.error("bad code point"))?);
                        }
                        _ => return Err(self.error(&format!("bad escape \\{}", e))),
                    }
                }
                c if (c as u32) < 0x20 => return Err(self.error("raw control character in string")),
                c => out.push(c),
            }
        }
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Num(n) => n.clone(),
        Json::Str(s) => json_str(s),
        Json::Arr(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
        Json::Obj(members) => format!(
            "{{{}}}",
            members.iter().map(|(k, v)| format!("{}: {}", json_str(k), render(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn get<'j>(obj: &'j [(String, Json)], key: &str) -> Option<&'j Json> {
    obj.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn get_str(obj: &[(String, Json)], key: &str) -> Result<String, String> {
    match get(obj, key) {
        Some(Json::Str(s)) => Ok(s.clone()),
        other => Err(format!("field {:?} must be a string, got {:?}", key, other)),
    }
}

// --------------------------------------------------------------- the fixture

const PROJECT_COLUMNS: [&str; 11] = [
    "required_skills_keywords",
    "preferred_skills_keywords",
    "work_todofuken",
    "work_area",
    "work_station",
    "remote_onsite",
    "min_experience_years",
    "contract_type",
    "monthly_tanka_max",
    "japanese_skill",
    "english_skill",
];
const TALENT_COLUMNS: [&str; 10] = [
    "possessed_skills_keywords",
    "residential_todofuken",
    "residential_area",
    "nearest_station",
    "desired_remote_onsite",
    "min_experience_years",
    "primary_contract_type",
    "desired_price_min",
    "japanese_skill",
    "english_skill",
];
const ARRAY_COLUMNS: [&str; 3] = ["required_skills_keywords", "preferred_skills_keywords", "possessed_skills_keywords"];
const INT_COLUMNS: [&str; 3] = ["min_experience_years", "monthly_tanka_max", "desired_price_min"];

/// One fixture column as the database would hold it (`None` = SQL NULL).
#[derive(Debug, Clone)]
enum Field {
    Text(Option<String>),
    Int(Option<i32>),
    Array(Option<Vec<String>>),
}

impl Field {
    fn text(&self) -> Option<String> {
        match self {
            Field::Text(v) => v.clone(),
            _ => unreachable!("column kinds are fixed by name"),
        }
    }
    fn int(&self) -> Option<i32> {
        match self {
            Field::Int(v) => *v,
            _ => unreachable!("column kinds are fixed by name"),
        }
    }
    /// The seed's struct has `Vec<String>`, so a NULL array tokenises like an empty one.
    fn array(&self) -> Vec<String> {
        match self {
            Field::Array(v) => v.clone().unwrap_or_default(),
            _ => unreachable!("column kinds are fixed by name"),
        }
    }
    fn to_json(&self) -> Json {
        match self {
            Field::Text(None) | Field::Int(None) | Field::Array(None) => Json::Null,
            Field::Text(Some(s)) => Json::Str(s.clone()),
            Field::Int(Some(i)) => Json::Num(i.to_string()),
            Field::Array(Some(items)) => Json::Arr(items.iter().map(|s| Json::Str(s.clone())).collect()),
        }
    }
}

fn parse_field(column: &str, value: Option<&Json>) -> Result<Field, String> {
    let value = value.unwrap_or(&Json::Null);
    if ARRAY_COLUMNS.contains(&column) {
        return match value {
            Json::Null => Ok(Field::Array(None)),
            Json::Arr(items) => items
                .iter()
                .map(|item| match item {
                    Json::Str(s) => Ok(s.clone()),
                    // Vec<String> in the seed cannot hold a NULL element.
                    other => Err(format!("{}: array elements must be strings, got {:?}", column, other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Field::Array(Some(v))),
            other => Err(format!("{} must be an array or null, got {:?}", column, other)),
        };
    }
    if INT_COLUMNS.contains(&column) {
        return match value {
            Json::Null => Ok(Field::Int(None)),
            Json::Num(n) => n
                .parse::<i32>()
                .map(|i| Field::Int(Some(i)))
                .map_err(|_| format!("{} must be a 32-bit integer, got {}", column, n)),
            other => Err(format!("{} must be an integer or null, got {:?}", column, other)),
        };
    }
    match value {
        Json::Null => Ok(Field::Text(None)),
        Json::Str(s) => Ok(Field::Text(Some(s.clone()))),
        other => Err(format!("{} must be a string or null, got {:?}", column, other)),
    }
}

fn parse_fields(columns: &[&str], fields: &[(String, Json)]) -> Result<Vec<(String, Field)>, String> {
    for (k, _) in fields {
        if !columns.contains(&k.as_str()) {
            return Err(format!("unknown column {:?}", k));
        }
    }
    columns.iter().map(|c| Ok((c.to_string(), parse_field(c, get(fields, c))?))).collect()
}

fn field<'f>(fields: &'f [(String, Field)], column: &str) -> &'f Field {
    &fields.iter().find(|(c, _)| c == column).expect("every column is parsed").1
}

fn project_from(id: i64, f: &[(String, Field)]) -> Project {
    Project {
        id: Some(id),
        required_skills_keywords: field(f, "required_skills_keywords").array(),
        preferred_skills_keywords: field(f, "preferred_skills_keywords").array(),
        work_todofuken: field(f, "work_todofuken").text(),
        work_area: field(f, "work_area").text(),
        work_station: field(f, "work_station").text(),
        remote_onsite: field(f, "remote_onsite").text(),
        min_experience_years: field(f, "min_experience_years").int(),
        contract_type: field(f, "contract_type").text(),
        monthly_tanka_max: field(f, "monthly_tanka_max").int(),
        japanese_skill: field(f, "japanese_skill").text(),
        english_skill: field(f, "english_skill").text(),
    }
}

fn talent_from(id: i64, f: &[(String, Field)]) -> Talent {
    Talent {
        id: Some(id),
        possessed_skills_keywords: field(f, "possessed_skills_keywords").array(),
        residential_todofuken: field(f, "residential_todofuken").text(),
        residential_area: field(f, "residential_area").text(),
        nearest_station: field(f, "nearest_station").text(),
        desired_remote_onsite: field(f, "desired_remote_onsite").text(),
        min_experience_years: field(f, "min_experience_years").int(),
        primary_contract_type: field(f, "primary_contract_type").text(),
        desired_price_min: field(f, "desired_price_min").int(),
        japanese_skill: field(f, "japanese_skill").text(),
        english_skill: field(f, "english_skill").text(),
    }
}

#[derive(Debug, Clone)]
enum Source {
    Project(Project),
    Talent(Talent),
    /// A token list given directly: exercises weights the tokenizer never emits.
    Tokens,
}

struct Entity {
    kind: String,
    key: String,
    id: i64,
    note: String,
    fields: Option<Vec<(String, Field)>>,
    source: Source,
    tokens: Vec<WeightedToken>,
    /// The weights as written in the fixture (f64, as a float8[] argument carries them).
    weights_f64: Vec<f64>,
}

struct Fixture {
    entities: Vec<Entity>,
    pairs: Vec<(String, String)>,
    extra_hash_strings: Vec<String>,
}

fn load_fixture(text: &str) -> Result<Fixture, String> {
    let mut fx = Fixture { entities: Vec::new(), pairs: Vec::new(), extra_hash_strings: Vec::new() };
    for (lineno, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let ctx = |e: String| format!("fixture line {}: {}", lineno + 1, e);
        let obj = match Parser::parse_line(trimmed).map_err(ctx)? {
            Json::Obj(members) => members,
            other => return Err(ctx(format!("expected an object, got {:?}", other))),
        };
        let kind = get_str(&obj, "kind").map_err(ctx)?;
        match kind.as_str() {
            "project" | "talent" | "tokens" => {
                let key = get_str(&obj, "key").map_err(ctx)?;
                let note = get_str(&obj, "note").map_err(ctx)?;
                let id = match get(&obj, "id") {
                    Some(Json::Num(n)) => n.parse::<i64>().map_err(|_| ctx(format!("bad id {}", n)))?,
                    other => return Err(ctx(format!("id must be an integer, got {:?}", other))),
                };
                if fx.entities.iter().any(|e| e.key == key || e.id == id) {
                    return Err(ctx(format!("duplicate key {:?} or id {}", key, id)));
                }
                let (fields, source, tokens, weights_f64) = if kind == "tokens" {
                    let list = match get(&obj, "tokens") {
                        Some(Json::Arr(items)) => items.clone(),
                        other => return Err(ctx(format!("tokens must be an array, got {:?}", other))),
                    };
                    let mut tokens = Vec::new();
                    let mut weights = Vec::new();
                    for item in list {
                        match item {
                            Json::Arr(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
                                (Json::Str(t), Json::Num(w)) => {
                                    let w64: f64 = w.parse().expect("validated by the parser");
                                    if !(w64 as f32).is_finite() {
                                        return Err(ctx(format!("weight {} is not a finite f32", w)));
                                    }
                                    tokens.push(WeightedToken::new(t.clone(), w64 as f32));
                                    weights.push(w64);
                                }
                                _ => return Err(ctx(format!("bad token pair {:?}", pair))),
                            },
                            other => return Err(ctx(format!("bad token pair {:?}", other))),
                        }
                    }
                    (None, Source::Tokens, tokens, weights)
                } else {
                    let raw = match get(&obj, "fields") {
                        Some(Json::Obj(m)) => m.clone(),
                        other => return Err(ctx(format!("fields must be an object, got {:?}", other))),
                    };
                    let columns: &[&str] = if kind == "project" { &PROJECT_COLUMNS } else { &TALENT_COLUMNS };
                    let fields = parse_fields(columns, &raw).map_err(ctx)?;
                    let (source, tokens) = if kind == "project" {
                        let p = project_from(id, &fields);
                        let t = tokenize_project(&p);
                        (Source::Project(p), t)
                    } else {
                        let t = talent_from(id, &fields);
                        let toks = tokenize_talent(&t);
                        (Source::Talent(t), toks)
                    };
                    let weights = tokens.iter().map(|t| t.weight as f64).collect();
                    (Some(fields), source, tokens, weights)
                };
                fx.entities.push(Entity { kind, key, id, note, fields, source, tokens, weights_f64 });
            }
            "pair" => {
                let a = get_str(&obj, "a").map_err(ctx)?;
                let b = get_str(&obj, "b").map_err(ctx)?;
                fx.pairs.push((a, b));
            }
            "hash" => fx.extra_hash_strings.push(get_str(&obj, "value").map_err(ctx)?),
            other => return Err(ctx(format!("unknown kind {:?}", other))),
        }
    }
    for (a, b) in &fx.pairs {
        for k in [a, b] {
            if !fx.entities.iter().any(|e| &e.key == k) {
                return Err(format!("pair names unknown entity {:?}", k));
            }
        }
    }
    Ok(fx)
}

// ------------------------------------------------------ the seed's unit tests

fn find<'f>(fx: &'f Fixture, key: &str) -> &'f Entity {
    fx.entities.iter().find(|e| e.key == key).unwrap_or_else(|| panic!("fixture lacks {:?}", key))
}

/// The fixture entity must hold exactly the seed test's literal (ids aside).
fn seed_project(fx: &Fixture, key: &str, expected: Project) -> Vec<f32> {
    match &find(fx, key).source {
        Source::Project(p) => {
            assert_eq!(Project { id: None, ..p.clone() }, expected, "fixture {:?} is not the seed's", key);
            tokens_to_embedding(&tokenize_project(p), 256)
        }
        _ => panic!("{:?} must be a project", key),
    }
}

fn seed_talent(fx: &Fixture, key: &str, expected: Talent) -> Vec<f32> {
    match &find(fx, key).source {
        Source::Talent(t) => {
            assert_eq!(Talent { id: None, ..t.clone() }, expected, "fixture {:?} is not the seed's", key);
            tokens_to_embedding(&tokenize_talent(t), 256)
        }
        _ => panic!("{:?} must be a talent", key),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn f32_json(v: f32) -> String {
    format!("{{\"bits\": \"{:08x}\", \"value\": {:?}}}", v.to_bits(), v)
}

fn seed_unit_tests(fx: &Fixture) -> String {
    // hash_tower_produces_normalized_vectors
    let emb = seed_project(
        fx,
        "seed_norm_project",
        Project {
            required_skills_keywords: strings(&["rust", "python"]),
            work_todofuken: Some("東京都".into()),
            ..Default::default()
        },
    );
    let norm: f32 = emb.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "L2 norm should be 1.0, got {}", norm);

    // similar_inputs_have_higher_similarity
    let proj = seed_project(
        fx,
        "seed_sim_project",
        Project {
            required_skills_keywords: strings(&["rust", "aws"]),
            work_todofuken: Some("東京都".into()),
            ..Default::default()
        },
    );
    let similar = seed_talent(
        fx,
        "seed_similar_talent",
        Talent {
            possessed_skills_keywords: strings(&["rust", "aws", "docker"]),
            residential_todofuken: Some("東京都".into()),
            ..Default::default()
        },
    );
    let different = seed_talent(
        fx,
        "seed_different_talent",
        Talent {
            possessed_skills_keywords: strings(&["cobol", "oracle"]),
            residential_todofuken: Some("北海道".into()),
            ..Default::default()
        },
    );
    let similar_score = cosine_similarity(&proj, &similar);
    let different_score = cosine_similarity(&proj, &different);
    assert!(similar_score > different_score, "{} vs {}", similar_score, different_score);

    // required_skill_match_beats_preferred_skill_match
    let proj = seed_project(
        fx,
        "seed_req_project",
        Project {
            required_skills_keywords: strings(&["rust"]),
            preferred_skills_keywords: strings(&["python"]),
            ..Default::default()
        },
    );
    let req = seed_talent(
        fx,
        "seed_required_match",
        Talent { possessed_skills_keywords: strings(&["rust"]), ..Default::default() },
    );
    let pref = seed_talent(
        fx,
        "seed_preferred_match",
        Talent { possessed_skills_keywords: strings(&["python"]), ..Default::default() },
    );
    let req_score = cosine_similarity(&proj, &req);
    let pref_score = cosine_similarity(&proj, &pref);
    assert!(req_score > pref_score, "{} vs {}", req_score, pref_score);

    format!(
        concat!(
            "{{\n",
            "    \"hash_tower_produces_normalized_vectors\": {{\"project\": \"seed_norm_project\", ",
            "\"dimension\": 256, \"norm\": {}}},\n",
            "    \"similar_inputs_have_higher_similarity\": {{\"project\": \"seed_sim_project\", ",
            "\"similar_talent\": \"seed_similar_talent\", \"different_talent\": \"seed_different_talent\", ",
            "\"dimension\": 256, \"similar_score\": {}, \"different_score\": {}}},\n",
            "    \"required_skill_match_beats_preferred_skill_match\": {{\"project\": \"seed_req_project\", ",
            "\"required_match\": \"seed_required_match\", \"preferred_match\": \"seed_preferred_match\", ",
            "\"dimension\": 256, \"required_score\": {}, \"preferred_score\": {}}}\n",
            "  }}"
        ),
        f32_json(norm),
        f32_json(similar_score),
        f32_json(different_score),
        f32_json(req_score),
        f32_json(pref_score),
    )
}

// ----------------------------------------------------------------------- main

fn bits_list(v: &[f32]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("\"{:08x}\"", x.to_bits())).collect();
    format!("[{}]", items.join(", "))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 || args.len() > 3 {
        eprintln!("usage: {} <fixtures.jsonl> [rustc version]", args[0]);
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1]).unwrap_or_else(|e| panic!("cannot read {:?}: {}", args[1], e));
    let fx = load_fixture(&text).unwrap_or_else(|e| {
        eprintln!("{}", e);
        std::process::exit(1);
    });
    let rustc = args.get(2).cloned().unwrap_or_default();

    // Every string we hash: entity tokens, their sign tokens and the extra edge cases.
    let mut hashed: BTreeSet<String> = fx.extra_hash_strings.iter().cloned().collect();
    for e in &fx.entities {
        for t in &e.tokens {
            hashed.insert(t.token.clone());
            hashed.insert(format!("{}_sign", t.token));
        }
    }
    let checked = assert_siphash_matches_std(&hashed);
    let seed_tests = seed_unit_tests(&fx);

    let mut out = String::new();
    out.push_str("{\n");
    out.push_str("  \"generator\": \"tools/golden_rust/golden.rs (std-only port of seed appendix B.2-B.4)\",\n");
    writeln!(out, "  \"rustc\": {},", json_str(&rustc)).unwrap();
    out.push_str("  \"embedder\": \"hash\",\n  \"version\": \"v2\",\n");
    writeln!(out, "  \"hash_keys\": {{\"k0\": \"{:016x}\", \"k1\": \"{:016x}\"}},", HASH_SEED_K0, HASH_SEED_K1)
        .unwrap();
    let dims: Vec<String> = DIMENSIONS.iter().map(|d| d.to_string()).collect();
    writeln!(out, "  \"dimensions\": [{}],", dims.join(", ")).unwrap();
    writeln!(
        out,
        "  \"siphash_self_check\": {{\"compared_with\": \"std DefaultHasher (SipHash-1-3, keys 0,0)\", \"strings\": {}}},",
        checked
    )
    .unwrap();
    writeln!(out, "  \"seed_unit_tests\": {},", seed_tests).unwrap();

    out.push_str("  \"entities\": [\n");
    for (i, e) in fx.entities.iter().enumerate() {
        out.push_str("    {\n");
        writeln!(out, "      \"kind\": {},", json_str(&e.kind)).unwrap();
        writeln!(out, "      \"key\": {},", json_str(&e.key)).unwrap();
        writeln!(out, "      \"id\": {},", e.id).unwrap();
        writeln!(out, "      \"note\": {},", json_str(&e.note)).unwrap();
        match &e.fields {
            None => out.push_str("      \"fields\": null,\n"),
            Some(fields) => {
                out.push_str("      \"fields\": {\n");
                for (j, (c, f)) in fields.iter().enumerate() {
                    let comma = if j + 1 < fields.len() { "," } else { "" };
                    writeln!(out, "        {}: {}{}", json_str(c), render(&f.to_json()), comma).unwrap();
                }
                out.push_str("      },\n");
            }
        }
        out.push_str("      \"tokens\": [");
        for (j, (t, w64)) in e.tokens.iter().zip(&e.weights_f64).enumerate() {
            let sep = if j == 0 { "\n" } else { ",\n" };
            write!(
                out,
                "{}        {{\"token\": {}, \"weight\": {:?}, \"weight_f32_bits\": \"{:08x}\"}}",
                sep,
                json_str(&t.token),
                w64,
                t.weight.to_bits()
            )
            .unwrap();
        }
        out.push_str(if e.tokens.is_empty() { "],\n" } else { "\n      ],\n" });
        out.push_str("      \"embeddings\": {\n");
        for (j, d) in DIMENSIONS.iter().enumerate() {
            let comma = if j + 1 < DIMENSIONS.len() { "," } else { "" };
            writeln!(out, "        \"{}\": {}{}", d, bits_list(&tokens_to_embedding(&e.tokens, *d)), comma).unwrap();
        }
        out.push_str("      }\n");
        out.push_str(if i + 1 < fx.entities.len() { "    },\n" } else { "    }\n" });
    }
    out.push_str("  ],\n");

    out.push_str("  \"pairs\": [\n");
    for (i, (a, b)) in fx.pairs.iter().enumerate() {
        let (ea, eb) = (find(&fx, a), find(&fx, b));
        let sims: Vec<String> = DIMENSIONS
            .iter()
            .map(|d| {
                let s = cosine_similarity(&tokens_to_embedding(&ea.tokens, *d), &tokens_to_embedding(&eb.tokens, *d));
                format!("\"{}\": {}", d, f32_json(s))
            })
            .collect();
        let comma = if i + 1 < fx.pairs.len() { "," } else { "" };
        writeln!(out, "    {{\"a\": {}, \"b\": {}, \"similarity\": {{{}}}}}{}", json_str(a), json_str(b), sims.join(", "), comma)
            .unwrap();
    }
    out.push_str("  ],\n");

    out.push_str("  \"token_hashes\": [\n");
    for (i, s) in hashed.iter().enumerate() {
        let comma = if i + 1 < hashed.len() { "," } else { "" };
        writeln!(out, "    {{\"token\": {}, \"hash\": \"{:016x}\"}}{}", json_str(s), token_hash(s), comma).unwrap();
    }
    out.push_str("  ]\n}\n");
    print!("{}", out);
}
