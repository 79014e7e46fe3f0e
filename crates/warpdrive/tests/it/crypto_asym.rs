//! The `hpre` device through real queues: RFC 8032 and RFC 7748 vectors,
//! round trips for every key type, clean "invalid" answers, typed errors.

use warpdrive::crypto::CryptoError;
use warpdrive::crypto_asym::{self, KeyType, PrivateKey, PublicKey, Scheme};
use warpdrive::{Queue, Runtime};
use wd_test_support::unhex as h;

fn setup() -> (Runtime, Queue) {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let q = rt.queue("hpre").unwrap();
    (rt, q)
}

#[test]
fn ed25519_rfc8032_test_1() {
    let (rt, mut q) = setup();
    let pkcs8 = h("302e020100300506032b6570042204209d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let sk = PrivateKey::new(&rt, "hpre", Scheme::Ed25519, &pkcs8).unwrap();
    let spki = sk.public_der(&mut q).unwrap();
    assert_eq!(spki, h("302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
    let sig = sk.sign(&mut q, b"").unwrap();
    assert_eq!(sig, h("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
    let pk = PublicKey::new(&rt, "hpre", Scheme::Ed25519, &spki).unwrap();
    assert!(pk.verify(&mut q, b"", &sig).unwrap());
    let mut bad = sig.clone();
    bad[0] ^= 1;
    assert!(!pk.verify(&mut q, b"", &bad).unwrap());
    assert!(!pk.verify(&mut q, b"x", &sig).unwrap());
    assert!(!pk.verify(&mut q, b"", &sig[..10]).unwrap(), "a truncated signature is invalid, not an error");
}

#[test]
fn x25519_rfc7748() {
    let (rt, mut q) = setup();
    let sk = PrivateKey::new(
        &rt,
        "hpre",
        Scheme::X25519,
        &h("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
    )
    .unwrap();
    let shared = sk.derive(&mut q, &h("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")).unwrap();
    assert_eq!(*shared, h("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));
    // Two fresh keys agree.
    let a =
        PrivateKey::new(&rt, "hpre", Scheme::X25519, &crypto_asym::keygen(&mut q, KeyType::X25519).unwrap()).unwrap();
    let b =
        PrivateKey::new(&rt, "hpre", Scheme::X25519, &crypto_asym::keygen(&mut q, KeyType::X25519).unwrap()).unwrap();
    let (pa, pb) = (a.public_der(&mut q).unwrap(), b.public_der(&mut q).unwrap());
    assert_eq!(*a.derive(&mut q, &pb).unwrap(), *b.derive(&mut q, &pa).unwrap());
}

#[test]
fn sign_verify_round_trips_for_every_signature_scheme() {
    let (rt, mut q) = setup();
    let cases = [
        (KeyType::Rsa2048, Scheme::RsaPkcs1Sha256),
        (KeyType::Rsa2048, Scheme::RsaPssSha256),
        (KeyType::Rsa2048, Scheme::RsaPssSha512),
        (KeyType::Rsa2048, Scheme::RsaPkcs1Sha384),
        (KeyType::P256, Scheme::EcdsaP256Sha256),
        (KeyType::P384, Scheme::EcdsaP384Sha384),
        (KeyType::Ed25519, Scheme::Ed25519),
    ];
    for (t, s) in cases {
        let der = crypto_asym::keygen(&mut q, t).unwrap();
        let sk = PrivateKey::new(&rt, "hpre", s, &der).unwrap();
        let pk = PublicKey::new(&rt, "hpre", s, &sk.public_der(&mut q).unwrap()).unwrap();
        let sig = sk.sign(&mut q, b"hello").unwrap();
        assert!(pk.verify(&mut q, b"hello", &sig).unwrap(), "{s:?}");
        assert!(!pk.verify(&mut q, b"hellO", &sig).unwrap(), "{s:?}");
        // PEM round trip of both keys.
        let (label, back) = crypto_asym::from_pem(crypto_asym::pem("PRIVATE KEY", &der).as_bytes()).unwrap();
        assert_eq!((label.as_str(), &back[..]), ("PRIVATE KEY", &der[..]));
    }
}

#[test]
fn rsa_oaep_and_ecdh() {
    let (rt, mut q) = setup();
    let der = crypto_asym::keygen(&mut q, KeyType::Rsa2048).unwrap();
    let sk = PrivateKey::new(&rt, "hpre", Scheme::RsaOaepSha256, &der).unwrap();
    let pk = PublicKey::new(&rt, "hpre", Scheme::RsaOaepSha256, &sk.public_der(&mut q).unwrap()).unwrap();
    let ct = pk.encrypt(&mut q, b"session key").unwrap();
    assert_eq!(ct.len(), 256);
    assert_eq!(&sk.decrypt(&mut q, &ct).unwrap()[..], b"session key");
    let mut bad = ct.clone();
    bad[100] ^= 1;
    assert!(matches!(sk.decrypt(&mut q, &bad), Err(CryptoError::Param(_))));
    assert!(pk.encrypt(&mut q, &[0; 300]).is_err(), "too long for OAEP");

    let a = crypto_asym::keygen(&mut q, KeyType::P256).unwrap();
    let b = crypto_asym::keygen(&mut q, KeyType::P256).unwrap();
    let a = PrivateKey::new(&rt, "hpre", Scheme::EcdhP256, &a).unwrap();
    let b = PrivateKey::new(&rt, "hpre", Scheme::EcdhP256, &b).unwrap();
    // ECDH takes the uncompressed point: the last 65 bytes of the SPKI.
    let pa = a.public_der(&mut q).unwrap();
    let pb = b.public_der(&mut q).unwrap();
    let s1 = a.derive(&mut q, &pb[pb.len() - 65..]).unwrap();
    let s2 = b.derive(&mut q, &pa[pa.len() - 65..]).unwrap();
    assert_eq!(s1.len(), 32);
    assert_eq!(*s1, *s2);
    assert!(a.derive(&mut q, &[4; 65]).is_err(), "a point not on the curve is refused");
}

#[test]
fn bad_keys_are_refused_at_session_creation() {
    let (rt, mut q) = setup();
    assert!(PrivateKey::new(&rt, "hpre", Scheme::Ed25519, b"not a key").is_err());
    assert!(PublicKey::new(&rt, "hpre", Scheme::EcdsaP256Sha256, &[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    // An Ed25519 key offered for ECDSA.
    let ed = crypto_asym::keygen(&mut q, KeyType::Ed25519).unwrap();
    assert!(PrivateKey::new(&rt, "hpre", Scheme::EcdsaP256Sha256, &ed).is_err());
    // Signing with an agreement key is a session error, not a panic.
    let x =
        PrivateKey::new(&rt, "hpre", Scheme::X25519, &crypto_asym::keygen(&mut q, KeyType::X25519).unwrap()).unwrap();
    assert!(x.sign(&mut q, b"m").is_err());
}

#[test]
fn key_agreement_takes_spki_peers_and_matches_openssl() {
    let (rt, mut q) = setup();
    // SPKI DER and the bare point / raw key give the same secret.
    let a =
        PrivateKey::new(&rt, "hpre", Scheme::EcdhP256, &crypto_asym::keygen(&mut q, KeyType::P256).unwrap()).unwrap();
    let b =
        PrivateKey::new(&rt, "hpre", Scheme::EcdhP256, &crypto_asym::keygen(&mut q, KeyType::P256).unwrap()).unwrap();
    let pb = b.public_der(&mut q).unwrap();
    assert_eq!(*a.derive(&mut q, &pb).unwrap(), *a.derive(&mut q, &pb[pb.len() - 65..]).unwrap());
    let x =
        PrivateKey::new(&rt, "hpre", Scheme::X25519, &crypto_asym::keygen(&mut q, KeyType::X25519).unwrap()).unwrap();
    let y =
        PrivateKey::new(&rt, "hpre", Scheme::X25519, &crypto_asym::keygen(&mut q, KeyType::X25519).unwrap()).unwrap();
    let py = y.public_der(&mut q).unwrap();
    let spki = [h("302a300506032b656e032100"), py.clone()].concat();
    assert_eq!(*x.derive(&mut q, &spki).unwrap(), *x.derive(&mut q, &py).unwrap());
    // A P-256 SPKI offered to X25519 is refused, not misread.
    assert!(x.derive(&mut q, &pb).is_err());

    // Against `openssl pkeyutl -derive`, OpenSSL's key on one side.
    let dir = std::env::temp_dir().join(format!("wd-ecdh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ossl = |args: &[&str]| {
        std::process::Command::new("openssl").args(args).current_dir(&dir).output().ok().filter(|o| o.status.success())
    };
    if ossl(&["version"]).is_none() {
        eprintln!("openssl not installed: cross-check skipped");
        return;
    }
    for (alg, scheme) in [
        (&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..], Scheme::EcdhP256),
        (&["-algorithm", "X25519"][..], Scheme::X25519),
    ] {
        let mut args = vec!["genpkey", "-out", "theirs.pem"];
        args.extend_from_slice(alg);
        ossl(&args).expect("openssl genpkey");
        ossl(&["pkey", "-in", "theirs.pem", "-pubout", "-outform", "DER", "-out", "theirs.pub.der"]).unwrap();
        let theirs_pub = std::fs::read(dir.join("theirs.pub.der")).unwrap();
        let t = if scheme == Scheme::X25519 { KeyType::X25519 } else { KeyType::P256 };
        let ours = PrivateKey::new(&rt, "hpre", scheme, &crypto_asym::keygen(&mut q, t).unwrap()).unwrap();
        let mut ours_pub = ours.public_der(&mut q).unwrap();
        if scheme == Scheme::X25519 {
            ours_pub = [h("302a300506032b656e032100"), ours_pub].concat();
        }
        std::fs::write(dir.join("ours.pub.pem"), crypto_asym::pem("PUBLIC KEY", &ours_pub)).unwrap();
        let o =
            ossl(&["pkeyutl", "-derive", "-inkey", "theirs.pem", "-peerkey", "ours.pub.pem"]).expect("openssl derive");
        let mine = ours.derive(&mut q, &theirs_pub).unwrap();
        assert_eq!(*mine, o.stdout, "{scheme:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
