//! A capability asked for in words: "gzip level 1 compress",
//! "AES-256-GCM", "sha256 digest", "gzip-compress", or a driver name.
//! The algorithms each driver offers come from `wd-ops`, the operations
//! and parameter ranges from the instances themselves.

use wd_ops::desc::DeviceDesc;

use super::SelectError;

/// Drivers a capability may name directly.
const DRIVERS: [&str; 4] = ["dma", "zip", "sec", "hpre"];

/// Public-key algorithms of `hpre` (RSA takes its size as a parameter).
const HPRE_ALGS: [&str; 5] = ["rsa", "p256", "p384", "ed25519", "x25519"];

/// An algorithm: its name, the driver that offers it, the operations it
/// goes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Alg {
    name: &'static str,
    driver: &'static str,
    ops: &'static [&'static str],
}

/// Every algorithm the drivers know.
fn algorithms() -> Vec<Alg> {
    const CODEC: &[&str] = &["compress", "decompress"];
    const CIPHER: &[&str] = &["encrypt", "decrypt"];
    const DIGEST: &[&str] = &["digest", "update", "final"];
    const PK: &[&str] = &["keygen", "sign", "verify", "encrypt", "decrypt"];
    let mut v: Vec<Alg> =
        wd_ops::zip::Format::ALL.iter().map(|f| Alg { name: f.name(), driver: "zip", ops: CODEC }).collect();
    v.extend(wd_ops::sec::CIPHER_ALGS.iter().map(|a| Alg { name: a.name(), driver: "sec", ops: CIPHER }));
    v.extend(wd_ops::sec::DIGEST_ALGS.iter().map(|a| Alg { name: a.name(), driver: "sec", ops: DIGEST }));
    v.extend(HPRE_ALGS.iter().map(|&name| Alg { name, driver: "hpre", ops: PK }));
    v
}

/// What a caller needs: any of driver, operation, algorithm and one
/// parameter (a level, or a key size in bits), as parsed from words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    text: String,
    driver: Option<&'static str>,
    op: Option<String>,
    alg: Option<Alg>,
    level: Option<u64>,
    bits: Option<u64>,
}

/// One word of a capability.
enum Word {
    Driver(&'static str),
    Op(String),
    Alg(Alg),
    Level,
    Number(u64),
}

impl Need {
    /// Parses `text` against the operations `devices` offer; an unknown
    /// word is [`SelectError::Unknown`], listing what exists.
    pub fn parse(text: &str, devices: &[DeviceDesc]) -> Result<Need, SelectError> {
        let algs = algorithms();
        let mut ops: Vec<String> = devices.iter().flat_map(|d| d.ops.iter().map(|o| o.name.clone())).collect();
        ops.sort();
        ops.dedup();
        let unknown = |word: &str| SelectError::Unknown {
            need: text.to_string(),
            word: word.to_string(),
            operations: ops.clone(),
            algorithms: algs.iter().map(|a| a.name.to_string()).collect(),
        };
        let mut words = Vec::new();
        for tok in text.to_lowercase().split(|c: char| c.is_whitespace() || c == '_' || c == ',') {
            if !tok.is_empty() && !words_of(tok, &algs, &ops, &mut words) {
                return Err(unknown(tok));
            }
        }
        let mut need = Need { text: text.to_string(), driver: None, op: None, alg: None, level: None, bits: None };
        let mut after_level = false;
        for w in words {
            match w {
                Word::Driver(d) => need.driver = Some(d),
                Word::Op(o) => need.op = Some(o),
                Word::Alg(a) => need.alg = Some(a),
                Word::Level => after_level = true,
                Word::Number(n) => {
                    // A number is a level after "level", or for a codec;
                    // otherwise a key size (AES-256, RSA-2048).
                    if after_level || need.alg.is_some_and(|a| a.driver == "zip") {
                        need.level = Some(n);
                    } else {
                        need.bits = Some(n);
                    }
                    after_level = false;
                }
            }
        }
        if need.driver.is_none() && need.op.is_none() && need.alg.is_none() {
            return Err(unknown(text));
        }
        Ok(need)
    }

    /// What was asked, as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Why `d` cannot serve this need, or `None` when it can.
    pub(crate) fn mismatch(&self, d: &DeviceDesc) -> Option<String> {
        let driver = self.alg.map(|a| a.driver).or(self.driver);
        if let Some(drv) = driver {
            if d.driver != drv {
                return Some(format!("driver {} (needs {drv})", d.driver));
            }
        }
        if let Some(op) = &self.op {
            if !d.ops.iter().any(|o| &o.name == op) {
                return Some(format!("no operation {op}"));
            }
            if let Some(a) = self.alg.filter(|a| !a.ops.contains(&op.as_str())) {
                return Some(format!("{} has no operation {op}", a.name));
            }
        }
        let within = |limit: &str, v: u64| match d.limits.iter().find(|l| l.name == limit) {
            Some(l) if (l.min..=l.max).contains(&v) => None,
            Some(l) => Some(format!("{limit} {}..={} (asked {v})", l.min, l.max)),
            None => Some(format!("no {limit}")),
        };
        if let Some(level) = self.level {
            let Some(a) = self.alg.filter(|a| a.driver == "zip") else {
                return Some("a level needs a compression format".into());
            };
            if let Some(why) = within(&format!("{} level", a.name), level) {
                return Some(why);
            }
        }
        if let Some(bits) = self.bits {
            let why = match self.alg.map(|a| a.name) {
                Some("rsa") => within("rsa bits", bits),
                Some(n) if n.starts_with("aes-") && bits % 8 == 0 => within("aes key bytes", bits / 8),
                Some(n) if n.starts_with("sm4-") && bits == 128 => None,
                _ => Some(format!("no key size of {bits} bits")),
            };
            if why.is_some() {
                return why;
            }
        }
        None
    }
}

/// Appends the words `tok` stands for; false if it stands for none.
fn words_of(tok: &str, algs: &[Alg], ops: &[String], out: &mut Vec<Word>) -> bool {
    if let Some(a) = algs.iter().find(|a| a.name == tok) {
        out.push(Word::Alg(*a));
    } else if let Some(d) = DRIVERS.iter().find(|&&d| d == tok) {
        out.push(Word::Driver(d));
    } else if ops.iter().any(|o| o == tok) || tok == "hash" {
        out.push(Word::Op(if tok == "hash" { "digest".into() } else { tok.to_string() }));
    } else if tok == "level" {
        out.push(Word::Level);
    } else if let Ok(n) = tok.parse() {
        out.push(Word::Number(n));
    } else if let Some(rest) = tok.strip_prefix("rsa").filter(|r| r.bytes().all(|b| b.is_ascii_digit())) {
        // rsa2048
        let Ok(n) = rest.parse() else { return false };
        out.push(Word::Alg(*algs.iter().find(|a| a.name == "rsa").expect("rsa is an algorithm")));
        out.push(Word::Number(n));
    } else if let Some((fam, rest)) = tok.split_once('-') {
        // AES-256-GCM: the family and mode are the algorithm, the number
        // its key size.
        if let Some((n, mode)) = rest.split_once('-').filter(|(n, _)| n.bytes().all(|b| b.is_ascii_digit())) {
            let name = format!("{fam}-{mode}");
            if let (Some(a), Ok(n)) = (algs.iter().find(|a| a.name == name), n.parse()) {
                out.push(Word::Alg(*a));
                out.push(Word::Number(n));
                return true;
            }
        }
        return words_of(fam, algs, ops, out) && words_of(rest, algs, ops, out);
    } else {
        return false;
    }
    true
}
