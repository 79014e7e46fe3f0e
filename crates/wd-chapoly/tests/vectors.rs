//! RFC 8439 test vectors (sections 2.8.2 and A.5) through the public API,
//! on the portable code and (when the CPU has it) the AVX-512 code.

use wd_chapoly::{available, ChaChaPoly, Error};
use wd_test_support::unhex;

fn keys(key: &[u8; 32]) -> Vec<ChaChaPoly> {
    let mut v = vec![ChaChaPoly::new_portable(key)];
    if available() {
        v.push(ChaChaPoly::new_simd(key).expect("simd"));
    } else {
        assert_eq!(ChaChaPoly::new_simd(key).err(), Some(Error::Unsupported));
    }
    v
}

const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

#[test]
fn rfc8439_2_8_2_aead() {
    let key: [u8; 32] = core::array::from_fn(|i| 0x80 + i as u8);
    let nonce: [u8; 12] = unhex("070000004041424344454647").try_into().expect("nonce");
    let aad = unhex("50515253c0c1c2c3c4c5c6c7");
    let ct = unhex(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
         3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
         92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
         3ff4def08e4b7a9de576d26586cec64b6116",
    );
    let tag: [u8; 16] = unhex("1ae10b594f09e26a7e902ecbd0600691").try_into().expect("tag");
    for k in keys(&key) {
        let mut out = vec![0u8; SUNSCREEN.len()];
        assert_eq!(k.seal_to(&nonce, &aad, SUNSCREEN, &mut out), Ok(tag));
        assert_eq!(out, ct);
        let mut buf = SUNSCREEN.to_vec();
        assert_eq!(k.seal_in_place(&nonce, &aad, &mut buf), Ok(tag));
        assert_eq!(buf, ct);
        k.open_in_place(&nonce, &aad, &mut buf, &tag).expect("open");
        assert_eq!(buf, SUNSCREEN);
    }
}

#[test]
fn rfc8439_a_5_decryption() {
    let key: [u8; 32] =
        unhex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0").try_into().expect("key");
    let nonce: [u8; 12] = unhex("000000000102030405060708").try_into().expect("nonce");
    let aad = unhex("f33388860000000000004e91");
    let ct = unhex(
        "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
         4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
         332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
         9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
         b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
         af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
         0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
         49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
         a6ad5cb4022b02709b",
    );
    let tag: [u8; 16] = unhex("eead9d67890cbb22392336fea1851f38").try_into().expect("tag");
    let pt = unhex(
        "496e7465726e65742d4472616674732061726520647261667420646f63756d65
         6e74732076616c696420666f722061206d6178696d756d206f6620736978206d
         6f6e74687320616e64206d617920626520757064617465642c207265706c6163
         65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65
         6e747320617420616e792074696d652e20497420697320696e617070726f7072
         6961746520746f2075736520496e7465726e65742d4472616674732061732072
         65666572656e6365206d6174657269616c206f7220746f206369746520746865
         6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67
         726573732e2fe2809d",
    );
    for k in keys(&key) {
        let mut out = vec![0u8; ct.len() + 7];
        k.open_to(&nonce, &aad, &ct, &tag, &mut out).expect("open");
        assert_eq!(&out[..ct.len()], &pt[..]);
        assert_eq!(k.seal_to(&nonce, &aad, &pt, &mut out), Ok(tag));
        assert_eq!(&out[..ct.len()], &ct[..]);
        let mut bad = tag;
        bad[15] ^= 0x80;
        let mut out = vec![0u8; ct.len()];
        assert_eq!(k.open_to(&nonce, &aad, &ct, &bad, &mut out), Err(Error::AuthFailed));
        assert!(out.iter().all(|&b| b == 0));
    }
}

#[test]
fn dst_too_small() {
    let k = ChaChaPoly::new(&[7; 32]);
    let mut out = [0u8; 9];
    assert_eq!(k.seal_to(&[0; 12], b"", &[1; 10], &mut out), Err(Error::DstTooSmall));
    assert_eq!(k.open_to(&[0; 12], b"", &[1; 10], &[0; 16], &mut out), Err(Error::DstTooSmall));
}
