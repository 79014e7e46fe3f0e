//! Measures candidate crypto engines on the sizes the issue names.
use std::hint::black_box;
use std::time::{Duration, Instant};

fn rate(name: &str, size: usize, mut f: impl FnMut()) {
    for _ in 0..50 {
        f();
    }
    let mut iters = 0u64;
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(700) {
        for _ in 0..16 {
            f();
        }
        iters += 16;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{name:<36} {size:>8} B  {:>8.3} GB/s  {:>10.0} ops/s",
        iters as f64 * size as f64 / s / 1e9,
        iters as f64 / s
    );
}

fn main() {
    let key = [7u8; 32];
    let nonce = [9u8; 12];
    for size in [64usize, 1024, 16384, 1 << 20] {
        let mut buf = vec![0u8; size];
        {
            use ring::aead::*;
            let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
            rate("ring aes-256-gcm seal", size, || {
                let t =
                    k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf).unwrap();
                black_box(t);
            });
            let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).unwrap());
            rate("ring chacha20-poly1305 seal", size, || {
                let t =
                    k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf).unwrap();
                black_box(t);
            });
            rate("ring sha256", size, || {
                black_box(ring::digest::digest(&ring::digest::SHA256, &buf));
            });
            rate("ring sha512", size, || {
                black_box(ring::digest::digest(&ring::digest::SHA512, &buf));
            });
        }
        {
            use aws_lc_rs::aead::*;
            let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
            rate("aws-lc-rs aes-256-gcm seal", size, || {
                let t =
                    k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf).unwrap();
                black_box(t);
            });
            let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).unwrap());
            rate("aws-lc-rs chacha20-poly1305 seal", size, || {
                let t =
                    k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf).unwrap();
                black_box(t);
            });
            rate("aws-lc-rs sha256", size, || {
                black_box(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &buf));
            });
            rate("aws-lc-rs sha512", size, || {
                black_box(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, &buf));
            });
        }
        {
            use aes_gcm::aead::{AeadInPlace, KeyInit};
            let c = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
            rate("RustCrypto aes-gcm seal", size, || {
                black_box(c.encrypt_in_place_detached((&nonce).into(), b"", &mut buf).unwrap());
            });
            let c = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key).unwrap();
            rate("RustCrypto chacha20poly1305 seal", size, || {
                black_box(c.encrypt_in_place_detached((&nonce).into(), b"", &mut buf).unwrap());
            });
            use sha2::Digest;
            rate("RustCrypto sha2 sha256", size, || {
                black_box(sha2::Sha256::digest(&buf));
            });
            rate("RustCrypto sha2 sha512", size, || {
                black_box(sha2::Sha512::digest(&buf));
            });
        }
    }
    // RSA-2048 signing.
    {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let mut sig = vec![0u8; kp.public_modulus_len()];
        rate("aws-lc-rs rsa2048 sign pkcs1-sha256", 32, || {
            kp.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, b"hello", &mut sig).unwrap();
        });
        let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).unwrap();
        let rk = ring::rsa::KeyPair::from_pkcs8(der.as_ref()).unwrap();
        let rrng = ring::rand::SystemRandom::new();
        rate("ring rsa2048 sign pkcs1-sha256", 32, || {
            rk.sign(&ring::signature::RSA_PKCS1_SHA256, &rrng, b"hello", &mut sig).unwrap();
        });
    }
}
