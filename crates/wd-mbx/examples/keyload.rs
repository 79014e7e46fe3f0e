//! How long turning a PKCS#8 RSA key into its multi-buffer form takes
//! (`RsaKey::from_pkcs8_der`), next to aws-lc parsing the same key.
use std::time::Instant;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};

fn main() {
    for (bits, size) in [(2048, KeySize::Rsa2048), (3072, KeySize::Rsa3072), (4096, KeySize::Rsa4096)] {
        let kp = KeyPair::generate(size).expect("keygen");
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).expect("der");
        let n = 50;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(wd_mbx::RsaKey::from_pkcs8_der(der.as_ref()).expect("parse"));
        }
        let ours = t.elapsed() / n;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(KeyPair::from_pkcs8(der.as_ref()).expect("parse"));
        }
        let aws = t.elapsed() / n;
        println!("RSA-{bits}: wd-mbx key load {ours:?}, aws-lc KeyPair::from_pkcs8 {aws:?}");
    }
}
