//! Known-answer tests for the `sec` device, through real queues and the
//! real engines: FIPS 180-4 / FIPS 202 examples, GB/T 32905 (SM3) and
//! GB/T 32907 (SM4), RFC 1321, RFC 4231 (HMAC), NIST SP 800-38A
//! (ECB/CBC/CTR), SP 800-38B (CMAC), the GCM specification's test cases
//! (SP 800-38D), RFC 8439 (ChaCha20-Poly1305). XTS, CCM and SM4-GCM
//! vectors were produced by OpenSSL (through pyca/cryptography), an
//! independent implementation.

use warpdrive::crypto::{self, CipherAlg, CipherKey, CryptoError, DigestAlg, MacAlg, SecError, Stream};
use warpdrive::{Queue, Runtime};
use wd_test_support::unhex as h;

fn setup() -> (Runtime, Queue) {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let q = rt.queue("sec").unwrap();
    (rt, q)
}

#[test]
fn digests_of_abc() {
    let (_rt, mut q) = setup();
    let cases = [
        (DigestAlg::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (DigestAlg::Sha224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
        (DigestAlg::Sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (DigestAlg::Sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (DigestAlg::Sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        (DigestAlg::Sha512_256, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"),
        (DigestAlg::Sha3_256, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
        (DigestAlg::Sha3_384, "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25"),
        (DigestAlg::Sha3_512, "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"),
        (DigestAlg::Sm3, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (DigestAlg::Md5, "900150983cd24fb0d6963f7d28e17f72"),
    ];
    for (alg, want) in cases {
        assert_eq!(crypto::digest(&mut q, alg, b"abc").unwrap(), h(want), "{alg:?}");
    }
    // FIPS 180-4 two-block example.
    let m = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(
        crypto::digest(&mut q, DigestAlg::Sha256, m).unwrap(),
        h("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    );
}

#[test]
fn multipart_digest_equals_oneshot_for_every_split() {
    let (rt, mut q) = setup();
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    for alg in wd_sec::alg::DIGEST_ALGS {
        let want = crypto::digest(&mut q, alg, &data).unwrap();
        let s = Stream::digest(&rt, "sec", alg).unwrap();
        for split in [0, 1, 63, 64, 65, 500, 1000] {
            s.update(&mut q, &data[..split]).unwrap();
            assert_eq!(s.finish(&mut q, &data[split..]).unwrap(), want, "{alg:?} split {split}");
        }
    }
}

#[test]
fn hmac_rfc4231() {
    let (rt, mut q) = setup();
    let cases: [(Vec<u8>, &[u8], DigestAlg, &str); 5] = [
        (vec![0x0b; 20], b"Hi There", DigestAlg::Sha256, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (vec![0x0b; 20], b"Hi There", DigestAlg::Sha512, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
        (b"Jefe".to_vec(), b"what do ya want for nothing?", DigestAlg::Sha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (b"Jefe".to_vec(), b"what do ya want for nothing?", DigestAlg::Sha224, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
        (vec![0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First", DigestAlg::Sha256, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ];
    for (key, data, d, want) in cases {
        let m = Stream::mac(&rt, "sec", MacAlg::Hmac(d), &key).unwrap();
        assert_eq!(m.oneshot(&mut q, data).unwrap(), h(want), "{d:?}");
        // Streaming, split in two, gives the same tag, and finish resets.
        m.update(&mut q, &data[..3]).unwrap();
        assert_eq!(m.finish(&mut q, &data[3..]).unwrap(), h(want));
        assert_eq!(m.finish(&mut q, data).unwrap(), h(want));
        assert!(m.verify(&mut q, data, &h(want)).unwrap());
        assert!(!m.verify(&mut q, b"other", &h(want)).unwrap());
    }
}

#[test]
fn cmac_sp800_38b() {
    let (rt, mut q) = setup();
    let m = Stream::mac(&rt, "sec", MacAlg::CmacAes, &h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
    assert_eq!(m.oneshot(&mut q, b"").unwrap(), h("bb1d6929e95937287fa37d129b756746"));
    assert_eq!(
        m.oneshot(&mut q, &h("6bc1bee22e409f96e93d7e117393172a")).unwrap(),
        h("070a16b46b4d4144f79bdd9dd04a287c")
    );
    assert!(matches!(
        Stream::mac(&rt, "sec", MacAlg::CmacAes, &[0; 15]),
        Err(CryptoError::Param(SecError::KeySize { got: 15, .. }))
    ));
}

#[test]
fn aes_modes_sp800_38a() {
    let (rt, mut q) = setup();
    let key = h("2b7e151628aed2a6abf7158809cf4f3c");
    let pt = h("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51");
    let ecb = CipherKey::new(&rt, "sec", CipherAlg::AesEcb, &key).unwrap();
    let ct = ecb.encrypt(&mut q, &[], &pt).unwrap();
    assert_eq!(ct, h("3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf"));
    assert_eq!(ecb.decrypt(&mut q, &[], &ct).unwrap(), pt);

    let iv = h("000102030405060708090a0b0c0d0e0f");
    let cbc = CipherKey::new(&rt, "sec", CipherAlg::AesCbc, &key).unwrap();
    let ct = cbc.encrypt(&mut q, &iv, &pt).unwrap();
    assert_eq!(ct, h("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2"));
    assert_eq!(cbc.decrypt(&mut q, &iv, &ct).unwrap(), pt);
    // Unpadded modes want whole blocks.
    assert!(matches!(cbc.encrypt(&mut q, &iv, &pt[..20]), Err(CryptoError::Param(SecError::InputLength))));

    let ctr = CipherKey::new(&rt, "sec", CipherAlg::AesCtr, &key).unwrap();
    let c0 = h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    let ct = ctr.encrypt(&mut q, &c0, &pt).unwrap();
    assert_eq!(ct, h("874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff"));
    assert_eq!(ctr.decrypt(&mut q, &c0, &ct).unwrap(), pt);
    // CTR takes any length.
    assert_eq!(ctr.encrypt(&mut q, &c0, &pt[..5]).unwrap(), ct[..5]);

    // AES-256 CBC (F.2.5) first block.
    let k256 = h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    let cbc256 = CipherKey::new(&rt, "sec", CipherAlg::AesCbc, &k256).unwrap();
    assert_eq!(cbc256.encrypt(&mut q, &iv, &pt[..16]).unwrap(), h("f58c4c04d6e5f1ba779eabfb5f7bfbd6"));
}

#[test]
fn cbc_pkcs7_round_trips_every_length_and_rejects_bad_padding() {
    let (rt, mut q) = setup();
    let k = CipherKey::new(&rt, "sec", CipherAlg::AesCbcPkcs7, &[3; 16]).unwrap();
    let iv = [9u8; 16];
    for n in [0usize, 1, 15, 16, 17, 100] {
        let pt: Vec<u8> = (0..n as u8).collect();
        let ct = k.encrypt(&mut q, &iv, &pt).unwrap();
        assert_eq!(ct.len(), n / 16 * 16 + 16);
        assert_eq!(k.decrypt(&mut q, &iv, &ct).unwrap(), pt);
    }
    // Decrypting under a different IV changes only the first block; a
    // wrong key garbles the padding.
    let ct = k.encrypt(&mut q, &iv, b"hello").unwrap();
    let other = CipherKey::new(&rt, "sec", CipherAlg::AesCbcPkcs7, &[4; 16]).unwrap();
    match other.decrypt(&mut q, &iv, &ct) {
        Err(CryptoError::Param(SecError::BadPadding)) => {}
        Ok(p) => assert_ne!(p, b"hello"), // 1 in 256: a garbled block that ends in 0x01
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn aes_gcm_spec_vectors_and_tamper() {
    let (rt, mut q) = setup();
    let k = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &h("feffe9928665731c6d6a8f9467308308")).unwrap();
    let iv = h("cafebabefacedbaddecaf888");
    let pt = h("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
    let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let want = h("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091 5bc94fbc3221a5db94fae95ae7121a47");
    let ct = k.seal(&mut q, &iv, &aad, &pt).unwrap();
    assert_eq!(ct, want);
    assert_eq!(k.open(&mut q, &iv, &aad, &ct).unwrap(), pt);
    // Any flipped bit in ciphertext, tag or AAD: AuthFailed, no plaintext.
    for i in [0, 30, ct.len() - 1] {
        let mut bad = ct.clone();
        bad[i] ^= 0x80;
        assert!(matches!(k.open(&mut q, &iv, &aad, &bad), Err(CryptoError::AuthFailed)), "byte {i}");
    }
    let mut bad_aad = aad.clone();
    bad_aad[0] ^= 1;
    assert!(matches!(k.open(&mut q, &iv, &bad_aad, &ct), Err(CryptoError::AuthFailed)));
    // Truncated input and wrong nonce sizes are typed errors.
    assert!(matches!(k.open(&mut q, &iv, &aad, &ct[..15]), Err(CryptoError::Param(SecError::Truncated))));
    assert!(matches!(
        k.seal(&mut q, &iv[..8], &aad, &pt),
        Err(CryptoError::Param(SecError::IvSize { got: 8, want: 12 }))
    ));

    let k0 = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0; 16]).unwrap();
    assert_eq!(k0.seal(&mut q, &[0; 12], b"", b"").unwrap(), h("58e2fccefa7e3061367f1d57a4e7455a"));
    assert_eq!(
        k0.seal(&mut q, &[0; 12], b"", &[0; 16]).unwrap(),
        h("0388dace60b6a392f328c2b971b2fe78 ab6e47d42cec13bdf53a67b21257bddf")
    );
    let k256 = CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0; 32]).unwrap();
    assert_eq!(k256.seal(&mut q, &[0; 12], b"", b"").unwrap(), h("530f8afbc74536b9a963b4f1c4cb738b"));
    assert_eq!(
        k256.seal(&mut q, &[0; 12], b"", &[0; 16]).unwrap(),
        h("cea7403d4d606b6e074ec5d3baf39d18 d0d1c8a799996bf0265b98b5d48ab919")
    );
}

#[test]
fn chacha20_poly1305_rfc8439() {
    let (rt, mut q) = setup();
    let key: Vec<u8> = (0x80..0xa0).collect();
    let k = CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &key).unwrap();
    let nonce = h("070000004041424344454647");
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let want = h("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116 1ae10b594f09e26a7e902ecbd0600691");
    let ct = k.seal(&mut q, &nonce, &aad, pt).unwrap();
    assert_eq!(ct, want);
    assert_eq!(k.open(&mut q, &nonce, &aad, &ct).unwrap(), pt);
    let mut bad = ct.clone();
    bad[5] ^= 1;
    assert!(matches!(k.open(&mut q, &nonce, &aad, &bad), Err(CryptoError::AuthFailed)));
}

#[test]
fn xts_ccm_sm4_cross_checked_with_openssl() {
    let (rt, mut q) = setup();
    let key: Vec<u8> = (0..64).collect();
    let xts = CipherKey::new(&rt, "sec", CipherAlg::AesXts, &key).unwrap();
    let pt: Vec<u8> = (0..37).collect();
    let ct = xts.encrypt(&mut q, &[0; 16], &pt).unwrap();
    assert_eq!(ct, h("dc8c665b97cbc0246d4f1639a9678a3e8d72b6be4ff845afe96b0ce0e772990f2a2dcf4a3f"));
    assert_eq!(xts.decrypt(&mut q, &[0; 16], &ct).unwrap(), pt);
    let xts128 = CipherKey::new(&rt, "sec", CipherAlg::AesXts, &key[..32]).unwrap();
    let pt48: Vec<u8> = (0..48).collect();
    assert_eq!(
        xts128.encrypt(&mut q, &[1; 16], &pt48).unwrap(),
        h("087c452aa68979ad6a08dc0ddb421051b2f215785a8da1452b46ec99f6108bfaad17224943d0ddd1965f5cd1f5d5f4f7")
    );
    assert!(matches!(xts.encrypt(&mut q, &[0; 16], &pt[..15]), Err(CryptoError::Param(SecError::InputLength))));

    let ccm = CipherKey::new(&rt, "sec", CipherAlg::AesCcm, &key[..16]).unwrap();
    let nonce: Vec<u8> = (0..12).collect();
    let ct = ccm.seal(&mut q, &nonce, b"aad", b"hello ccm").unwrap();
    assert_eq!(ct, h("5b709f0bb3a0a7d21ca58d9b71f2dfbdb51147d6a8b2e964f0"));
    assert_eq!(ccm.open(&mut q, &nonce, b"aad", &ct).unwrap(), b"hello ccm");
    assert!(matches!(ccm.open(&mut q, &nonce, b"aaD", &ct), Err(CryptoError::AuthFailed)));

    // GB/T 32907 example 1.
    let sm4 = CipherKey::new(&rt, "sec", CipherAlg::Sm4Ecb, &h("0123456789abcdeffedcba9876543210")).unwrap();
    let ct = sm4.encrypt(&mut q, &[], &h("0123456789abcdeffedcba9876543210")).unwrap();
    assert_eq!(ct, h("681edf34d206965e86b3e94f536e4246"));
    let gcm = CipherKey::new(&rt, "sec", CipherAlg::Sm4Gcm, &key[..16]).unwrap();
    let ct = gcm.seal(&mut q, &nonce, b"", &[b'x'; 20]).unwrap();
    assert_eq!(ct[..20], h("ef3ea683b112fd7887e40c35a9c3811e59ef79b3")[..]);
    assert_eq!(gcm.open(&mut q, &nonce, b"", &ct).unwrap(), [b'x'; 20]);
    for alg in [CipherAlg::Sm4Cbc, CipherAlg::Sm4CbcPkcs7, CipherAlg::Sm4Ctr, CipherAlg::Sm4Xts] {
        let k = CipherKey::new(&rt, "sec", alg, &key[..alg.key_lens()[0]]).unwrap();
        let ct = k.encrypt(&mut q, &[5; 16], &pt48).unwrap();
        assert_ne!(ct[..48], pt48[..], "{alg:?}");
        assert_eq!(k.decrypt(&mut q, &[5; 16], &ct).unwrap(), pt48, "{alg:?}");
    }
}

#[test]
fn bad_parameters_are_typed_errors() {
    let (rt, mut q) = setup();
    assert!(matches!(
        CipherKey::new(&rt, "sec", CipherAlg::AesGcm, &[0; 15]),
        Err(CryptoError::Param(SecError::KeySize { got: 15, .. }))
    ));
    assert!(matches!(
        CipherKey::new(&rt, "sec", CipherAlg::ChaCha20Poly1305, &[0; 16]),
        Err(CryptoError::Param(SecError::KeySize { .. }))
    ));
    assert!(matches!(
        CipherKey::new(&rt, "sec", CipherAlg::AesXts, &[0; 16]),
        Err(CryptoError::Param(SecError::KeySize { .. }))
    ));
    // The device checks too: a raw session with a bad key is refused.
    let raw = wd_sec::alg::encode_session(CipherAlg::AesGcm as u16, &[0; 7]);
    assert!(matches!(
        rt.create_session("sec", wd_sec::alg::kind::CIPHER, &raw),
        Err(warpdrive::Error::Status(warpdrive::Status::BadParam))
    ));
    assert!(rt.create_session("sec", 99, &raw).is_err());
    let k = CipherKey::new(&rt, "sec", CipherAlg::AesCtr, &[0; 16]).unwrap();
    assert!(matches!(
        k.encrypt(&mut q, &[0; 12], b"x"),
        Err(CryptoError::Param(SecError::IvSize { got: 12, want: 16 }))
    ));
    assert!(matches!(k.seal(&mut q, &[0; 12], b"", b"x"), Err(CryptoError::Param(SecError::NotAead))));
    // A request naming a closed session fails cleanly.
    let id = k.session();
    drop(k);
    let req = warpdrive::Req {
        session: id,
        params: [0, 0],
        src: vec![1u8; 16].into(),
        dst: vec![0u8; 16].into(),
        ..warpdrive::Req::new(warpdrive::Opcode::SEC_ENCRYPT)
    };
    let t = q.submit(req).map_err(|e| e.into_error()).unwrap();
    assert_eq!(q.wait_for(t).unwrap().status, warpdrive::Status::BadSession);
}

#[test]
fn digest_trait_matches_device_oneshot() {
    use digest::Digest;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (_rt, mut q) = setup();
    let want = crypto::digest(&mut q, DigestAlg::Sha256, &data).unwrap();
    let mut hs = crypto::Sha256::new();
    for c in data.chunks(1000) {
        hs.update(c);
    }
    assert_eq!(hs.finalize().to_vec(), want);
    assert_eq!(
        crypto::Sha256::digest(b"abc").to_vec(),
        h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        crypto::Sm3::digest(b"abc").to_vec(),
        h("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    );
}

#[test]
fn mac_trait_matches_rfc4231() {
    use digest::Mac;
    let mut m = crypto::HmacSha256::new_from_slice(b"Jefe").unwrap();
    m.update(b"what do ya ");
    m.update(b"want for nothing?");
    let tag = h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    m.verify_slice(&tag).expect("RFC 4231 case 2");
    let mut m = crypto::HmacSha256::new_from_slice(b"Jefe").unwrap();
    m.update(b"what do ya want for nothing!");
    assert!(m.verify_slice(&tag).is_err());
    // Long input (several coalesced chunks), against the session API.
    let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let mut m = crypto::HmacSha512::new_from_slice(&[0x0b; 20]).unwrap();
    for c in data.chunks(777) {
        m.update(c);
    }
    let (rt, mut q) = setup();
    let s = Stream::mac(&rt, "sec", MacAlg::Hmac(DigestAlg::Sha512), &[0x0b; 20]).unwrap();
    assert_eq!(m.finalize().into_bytes().to_vec(), s.oneshot(&mut q, &data).unwrap());
}
