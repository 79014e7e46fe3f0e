//! Driver of `ci/ct-check` (needs `--features ct-probe`).
//!
//! `ct_probe gen DIR` writes fresh 2048-, 3072- and 4096-bit PKCS#8 keys
//! (aws-lc, run natively); `ct_probe check DIR` runs `wd_mbx::probe::run`
//! on each, meant to run under `valgrind --error-exitcode=...`;
//! `ct_probe batch DIR` runs one 8-lane batch per key natively (and links
//! the vector kernel into this binary for the machine-code check).

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: ct_probe gen|check|batch DIR");
        std::process::exit(2);
    };
    let sizes = [(2048, KeySize::Rsa2048), (3072, KeySize::Rsa3072), (4096, KeySize::Rsa4096)];
    for (bits, size) in sizes {
        let path = std::path::Path::new(dir).join(format!("rsa{bits}.der"));
        match mode.as_str() {
            "gen" => {
                let kp = KeyPair::generate(size).expect("keygen");
                let der = AsDer::<Pkcs8V1Der>::as_der(&kp).expect("der");
                std::fs::write(&path, der.as_ref()).expect("write key");
            }
            "batch" => {
                let der = std::fs::read(&path).expect("read key");
                let key = wd_mbx::RsaKey::from_pkcs8_der(&der).expect("key");
                let x = vec![7u8; key.modulus_len()];
                let mut outs = vec![vec![0u8; x.len()]; wd_mbx::LANES];
                let mut or: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
                match wd_mbx::rsa_private_batch(&[&key; wd_mbx::LANES], &[&x[..]; wd_mbx::LANES], &mut or) {
                    Ok(()) => println!("ct_probe: RSA-{bits} batch ok"),
                    Err(e) => println!("ct_probe: RSA-{bits} batch: {e}"),
                }
            }
            "check" => {
                let der = std::fs::read(&path).expect("read key");
                let got = wd_mbx::probe::run(&der).expect("probe");
                assert_eq!(got, bits);
                println!("ct_probe: RSA-{bits} scalar paths ran with secrets marked");
            }
            _ => {
                eprintln!("usage: ct_probe gen|check|batch DIR");
                std::process::exit(2);
            }
        }
    }
}
