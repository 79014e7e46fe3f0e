//! NIST CAVP known answers through real `sec` queues: a handful of
//! records copied (as hex) from the public CAVP response files, named by
//! file and section. AES-GCM: `gcmEncryptExtIV128.rsp`,
//! `gcmEncryptExtIV256.rsp` (seal must reproduce CT and Tag, including
//! the 96-bit `Taglen` sections through a 12-byte-tag session) and
//! `gcmDecrypt256.rsp` (open must return PT for the passing records and
//! `AuthFailed`, with no plaintext, for the `FAIL` ones), from
//! gcmtestvectors.zip. AES-CCM: `DVPT128.rsp`, `DVPT256.rsp`, `VNT128.rsp`,
//! `VNT256.rsp` and (AES-192) `VPT192.rsp` from ccmtestvectors.zip (7-, 12-
//! and 13-byte nonces, 4- and 16-byte tags). SHA-256: `SHA256ShortMsg.rsp` and
//! `SHA256LongMsg.rsp` from shabytetestvectors.zip (byte-oriented), as a
//! one-shot digest and streamed in uneven pieces.

use warpdrive::crypto::{self, CipherAlg, CipherKey, CryptoError, DigestAlg, Stream};
use warpdrive::{Queue, Runtime};
use wd_test_support::unhex as h;

fn setup() -> (Runtime, Queue) {
    let rt = Runtime::embedded_with(&warpdrive::EmbeddedConfig { pin: false, ..Default::default() }).unwrap();
    let q = rt.queue("sec").unwrap();
    (rt, q)
}

/// One CAVP GCM record (`[Keylen] [IVlen] [PTlen] [AADlen] [Taglen]`).
struct Gcm {
    file: &'static str,
    section: &'static str,
    key: &'static str,
    iv: &'static str,
    pt: &'static str,
    aad: &'static str,
    ct: &'static str,
    tag: &'static str,
}

const GCM_ENCRYPT: &[Gcm] = &[
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=0 AADlen=0 Taglen=128",
        key: "11754cd72aec309bf52f7687212e8957",
        iv: "3c819d9a9bed087615030b65",
        pt: "",
        aad: "",
        ct: "",
        tag: "250327c674aaf477aef2675748cf6971",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=0 AADlen=0 Taglen=128",
        key: "ca47248ac0b6f8372a97ac43508308ed",
        iv: "ffd2b598feabc9019262d2be",
        pt: "",
        aad: "",
        ct: "",
        tag: "60d20404af527d248d893ae495707d1a",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=0 AADlen=128 Taglen=128",
        key: "77be63708971c4e240d1cb79e8d77feb",
        iv: "e0e00f19fed7ba0136a797f3",
        pt: "",
        aad: "7a43ec1d9c0a5a78a0b16533a6213cab",
        ct: "",
        tag: "209fcc8d3675ed938e9c7166709dd946",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=0 AADlen=128 Taglen=128",
        key: "7680c5d3ca6154758e510f4d25b98820",
        iv: "f8f105f9c3df4965780321f8",
        pt: "",
        aad: "c94c410194c765e3dcc7964379758ed3",
        ct: "",
        tag: "94dca8edfcf90bb74b153c8d48a17930",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=128 AADlen=0 Taglen=128",
        key: "7fddb57453c241d03efbed3ac44e371c",
        iv: "ee283a3fc75575e33efd4887",
        pt: "d5de42b461646c255c87bd2962d3b9a2",
        aad: "",
        ct: "2ccda4a5415cb91e135c2a0f78c9b2fd",
        tag: "b36d1df9b9d5e596f83e8b7f52971cb3",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=128 AADlen=0 Taglen=128",
        key: "ab72c77b97cb5fe9a382d9fe81ffdbed",
        iv: "54cc7dc2c37ec006bcc6d1da",
        pt: "007c5e5b3e59df24a7c355584fc1518d",
        aad: "",
        ct: "0e1bde206a07a9c2c1b65300f8c64997",
        tag: "2b4401346697138c7a4891ee59867d0c",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=408 AADlen=160 Taglen=128",
        key: "fe47fcce5fc32665d2ae399e4eec72ba",
        iv: "5adb9609dbaeb58cbd6e7275",
        pt: concat!(
            "7c0e88c88899a779228465074797cd4c2e1498d259b54390b85e3eef1c02df60e743f1b840382c4bccaf3baf",
            "b4ca8429bea063",
        ),
        aad: "88319d6e1d3ffa5f987199166c8a9b56c2aeba5a",
        ct: concat!(
            "98f4826f05a265e6dd2be82db241c0fbbbf9ffb1c173aa83964b7cf5393043736365253ddbc5db8778371495",
            "da76d269e5db3e",
        ),
        tag: "291ef1982e4defedaa2249f898556b47",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=104 AADlen=0 Taglen=128",
        key: "fe9bb47deb3a61e423c2231841cfd1fb",
        iv: "4d328eb776f500a2f7fb47aa",
        pt: "f1cc3818e421876bb6b8bbd6c9",
        aad: "",
        ct: "b88c5c1977b35b517b0aeae967",
        tag: "43fd4727fe5cdb4b5b42818dea7ef8c9",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=128 AADlen=0 Taglen=96",
        key: "f00fdd018c02e03576008b516ea971ad",
        iv: "3b3e276f9e98b1ecb7ce6d28",
        pt: "2853e66b7b1b3e1fa3d1f37279ac82be",
        aad: "",
        ct: "55d2da7a3fb773b8a073db499e24bf62",
        tag: "cba06bb4f6e097199250b0d1",
    },
    Gcm {
        file: "gcmEncryptExtIV128.rsp",
        section: "Keylen=128 IVlen=96 PTlen=128 AADlen=160 Taglen=96",
        key: "70fb02388301f16c4193b0fc70683f3f",
        iv: "aec612be7c1ddb659a4b315c",
        pt: "68e6bc0b08b8adbdc00005ae44723c8e",
        aad: "3859b3c9d0b42d45c43e8ebd4c8cbde1b6eb2106",
        ct: "a7c52a23b09062a1fb77d47ff83a114f",
        tag: "79f91fa572220432ee3a6495",
    },
    Gcm {
        file: "gcmEncryptExtIV256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=0 AADlen=0 Taglen=128",
        key: "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
        iv: "516c33929df5a3284ff463d7",
        pt: "",
        aad: "",
        ct: "",
        tag: "bdc1ac884d332457a1d2664f168c76f0",
    },
    Gcm {
        file: "gcmEncryptExtIV256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=128 AADlen=0 Taglen=128",
        key: "31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22",
        iv: "0d18e06c7c725ac9e362e1ce",
        pt: "2db5168e932556f8089a0622981d017d",
        aad: "",
        ct: "fa4362189661d163fcd6a56d8bf0405a",
        tag: "d636ac1bbedd5cc3ee727dc2ab4a9489",
    },
    Gcm {
        file: "gcmEncryptExtIV256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=128 AADlen=128 Taglen=128",
        key: "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
        iv: "ac93a1a6145299bde902f21a",
        pt: "2d71bcfa914e4ac045b2aa60955fad24",
        aad: "1e0889016f67601c8ebea4943bc23ad6",
        ct: "8995ae2e6df3dbf96fac7b7137bae67f",
        tag: "eca5aa77d51d4a0a14d9c51e1da474ab",
    },
    Gcm {
        file: "gcmEncryptExtIV256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=256 AADlen=384 Taglen=128",
        key: "dc776f0156c15d032623854b625c61868e5db84b7b6f9fbd3672f12f0025e0f6",
        iv: "67130951c4a57f6ae7f13241",
        pt: "9378a727a5119595ad631b12a5a6bc8a91756ef09c8d6eaa2b718fe86876da20",
        aad: concat!(
            "fd0920faeb7b212932280a009bac969145e5c316cf3922622c3705c3457c4e9f124b2076994323fbcfb523f8",
            "ed16d241",
        ),
        ct: "6d958c20870d401a3c1f7a0ac092c97774d451c09f7aae992a8841ff0ab9d60d",
        tag: "b876831b4ecd7242963b040aa45c4114",
    },
    Gcm {
        file: "gcmEncryptExtIV256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=408 AADlen=160 Taglen=128",
        key: "24501ad384e473963d476edcfe08205237acfd49b5b8f33857f8114e863fec7f",
        iv: "9ff18563b978ec281b3f2794",
        pt: concat!(
            "27f348f9cdc0c5bd5e66b1ccb63ad920ff2219d14e8d631b3872265cf117ee86757accb158bd9abb3868fdc0",
            "d0b074b5f01b2c",
        ),
        aad: "adb5ec720ccf9898500028bf34afccbcaca126ef",
        ct: concat!(
            "eb7cb754c824e8d96f7c6d9b76c7d26fb874ffbf1d65c6f64a698d839b0b06145dae82057ad55994cf59ad7f",
            "67c0fa5e85fab8",
        ),
        tag: "bc95c532fecc594c36d1550286a7a3f0",
    },
];

const GCM_DECRYPT_PASS: &[Gcm] = &[
    Gcm {
        file: "gcmDecrypt256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=128 AADlen=128 Taglen=128",
        key: "54e352ea1d84bfe64a1011096111fbe7668ad2203d902a01458c3bbd85bfce14",
        iv: "df7c3bca00396d0c018495d9",
        pt: "85fc3dfad9b5a8d3258e4fc44571bd3b",
        aad: "7e968d71b50c1f11fd001f3fef49d045",
        ct: "426e0efc693b7be1f3018db7ddbb7e4d",
        tag: "ee8257795be6a1164d7e1d2d6cac77a7",
    },
    Gcm {
        file: "gcmDecrypt256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=256 AADlen=384 Taglen=128",
        key: "42f6c25159b8655380f052dd5dad180e76813b60eb813665c5015f26cf32e8f1",
        iv: "7248a5ed48f4f1b4a9db3826",
        pt: "9a329cb45b0093e9c00615137dd7dbd1f8b525999af3bfc222315f41817717a7",
        aad: concat!(
            "8e3c74f127dbfe29ac4de0a7c3240ee8aa8d38a82f38ad6b480236c8cd4232057a5502e936bfe22225830fa1",
            "95a8afce",
        ),
        ct: "26325c3463813a7d59d184a330ef80959637fa6db4f5db3062d3d2ec7e32d82a",
        tag: "4f39c63d4f215d5b39a58853d3842175",
    },
    Gcm {
        file: "gcmDecrypt256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=408 AADlen=160 Taglen=128",
        key: "6450d4501b1e6cfbe172c4c8570363e96b496591b842661c28c2f6c908379cad",
        iv: "7e4262035e0bf3d60e91668a",
        pt: concat!(
            "17449e236ef5858f6d891412495ead4607bfae2a2d735182a2a0242f9d52fc5345ef912dbe16f3bb4576fe3b",
            "cafe336dee6085",
        ),
        aad: "f1c522f026e4c5d43851da516a1b78768ab18171",
        ct: concat!(
            "5a99b336fd3cfd82f10fb08f7045012415f0d9a06bb92dcf59c6f0dbe62d433671aacb8a1c52ce7bbf6aea37",
            "2bf51e2ba79406",
        ),
        tag: "fe93b01636f7bb0458041f213e98de65",
    },
];

/// `FAIL` records: `pt` is empty (the file gives none).
const GCM_DECRYPT_FAIL: &[Gcm] = &[
    Gcm {
        file: "gcmDecrypt256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=0 AADlen=0 Taglen=128",
        key: "e5a8123f2e2e007d4e379ba114a2fb66e6613f57c72d4e4f024964053028a831",
        iv: "51e43385bf533e168427e1ad",
        pt: "",
        aad: "",
        ct: "",
        tag: "38fe845c66e66bdd884c2aecafd280e6",
    },
    Gcm {
        file: "gcmDecrypt256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=128 AADlen=128 Taglen=128",
        key: "9a0343f850a6427120f764789ffec6d237447b898fbf51d2182f065d3861497d",
        iv: "3deef6f453dd70d92143adcd",
        pt: "",
        aad: "dbb8226a624520863db6897017b2a4f8",
        ct: "e93165935ac18e3a2845d15fe31a9286",
        tag: "f5fc50d18766bc3d9e16dd136d45816b",
    },
    Gcm {
        file: "gcmDecrypt256.rsp",
        section: "Keylen=256 IVlen=96 PTlen=408 AADlen=160 Taglen=128",
        key: "e9d381a9c413bee66175d5586a189836e5c20f5583535ab4d3f3e612dc21700e",
        iv: "23e81571da1c7821c681c7ca",
        pt: "",
        aad: "6f39c9ae7b8e8a58a95f0dd8ea6a9087cbccdfd6",
        ct: concat!(
            "a25f3f580306cd5065d22a6b7e9660110af7204bb77d370f7f34bee547feeff7b32a596fce29c9040e68b158",
            "9aad48da881990",
        ),
        tag: "5b6dcd70eefb0892fab1539298b92a4b",
    },
];

fn key_for(rt: &Runtime, v: &Gcm) -> CipherKey {
    let tag = v.tag.len() / 2;
    CipherKey::new_aead(rt, "sec", CipherAlg::AesGcm, &h(v.key), tag, 12).unwrap()
}

#[test]
fn aes_gcm_cavp_encrypt() {
    let (rt, mut q) = setup();
    for v in GCM_ENCRYPT {
        let k = key_for(&rt, v);
        let sealed = k.seal(&mut q, &h(v.iv), &h(v.aad), &h(v.pt)).unwrap();
        let want = [h(v.ct), h(v.tag)].concat();
        assert_eq!(sealed, want, "{} [{}]", v.file, v.section);
        assert_eq!(k.open(&mut q, &h(v.iv), &h(v.aad), &sealed).unwrap(), h(v.pt), "{} [{}]", v.file, v.section);
    }
}

#[test]
fn aes_gcm_cavp_decrypt() {
    let (rt, mut q) = setup();
    for v in GCM_DECRYPT_PASS {
        let k = key_for(&rt, v);
        let ct_tag = [h(v.ct), h(v.tag)].concat();
        assert_eq!(k.open(&mut q, &h(v.iv), &h(v.aad), &ct_tag).unwrap(), h(v.pt), "{} [{}]", v.file, v.section);
    }
    for v in GCM_DECRYPT_FAIL {
        let k = key_for(&rt, v);
        let ct_tag = [h(v.ct), h(v.tag)].concat();
        assert!(
            matches!(k.open(&mut q, &h(v.iv), &h(v.aad), &ct_tag), Err(CryptoError::AuthFailed)),
            "{} [{}] FAIL",
            v.file,
            v.section
        );
    }
}

/// One CAVP CCM record: `DVPT*.rsp` (decryption-verification, here the
/// 7-byte-nonce, 4-byte-tag sections, `Result = Pass` records) and
/// `VNT*.rsp` (variable nonce length, 16-byte tag). AES-192 records left
/// out: the device's CCM takes 128- and 256-bit keys.
struct Ccm {
    file: &'static str,
    key: &'static str,
    nonce: &'static str,
    pt: &'static str,
    aad: &'static str,
    ct: &'static str,
    tag: &'static str,
}

const CCM: &[Ccm] = &[
    Ccm {
        file: "DVPT128.rsp",
        key: "4ae701103c63deca5b5a3939d7d05992",
        nonce: "5a8aa485c316e9",
        pt: "",
        aad: "",
        ct: "",
        tag: "02209f55",
    },
    Ccm {
        file: "DVPT128.rsp",
        key: "19ebfde2d5468ba0a3031bde629b11fd",
        nonce: "5a8aa485c316e9",
        pt: "3796cf51b8726652a4204733b8fbb047cf00fb91a9837e22",
        aad: "",
        ct: "a90e8ea44085ced791b2fdb7fd44b5cf0bd7d27718029bb7",
        tag: "03e1fa6b",
    },
    Ccm {
        file: "DVPT128.rsp",
        key: "90929a4b0ac65b350ad1591611fe4829",
        nonce: "5a8aa485c316e9",
        pt: "",
        aad: "3796cf51b8726652a4204733b8fbb047cf00fb91a9837e22ec22b1a268f88e2c",
        ct: "",
        tag: "782e4318",
    },
    Ccm {
        file: "DVPT256.rsp",
        key: "eda32f751456e33195f1f499cf2dc7c97ea127b6d488f211ccc5126fbb24afa6",
        nonce: "a544218dadd3c1",
        pt: "",
        aad: "",
        ct: "",
        tag: "469c90bb",
    },
    Ccm {
        file: "DVPT256.rsp",
        key: "af063639e66c284083c5cf72b70d8bc277f5978e80d9322d99f2fdc718cda569",
        nonce: "a544218dadd3c1",
        pt: "d3d5424e20fbec43ae495353ed830271515ab104f8860c98",
        aad: "",
        ct: "64a1341679972dc5869fcf69b19d5c5ea50aa0b5e985f5b7",
        tag: "22aa8d59",
    },
    Ccm {
        file: "DVPT256.rsp",
        key: "1b0e8df63c57f05d9ac457575ea764524b8610ae5164e6215f426f5a7ae6ede4",
        nonce: "a544218dadd3c1",
        pt: "",
        aad: "d3d5424e20fbec43ae495353ed830271515ab104f8860c988d15b6d36c038eab",
        ct: "",
        tag: "92d00fbe",
    },
    Ccm {
        file: "VNT128.rsp",
        key: "c0425ed20cd28fda67a2bcc0ab342a49",
        nonce: "37667f334dce90",
        pt: "4f065a23eeca6b18d118e1de4d7e5ca1a7c0e556d786d407",
        aad: "0b3e8d9785c74c8f41ea257d4d87495ffbbb335542b12e0d62bb177ec7a164d9",
        ct: "768fccdf4898bca099e33c3d40565497dec22dd6e33dcf43",
        tag: "84d71be8565c21a455db45816da8158c",
    },
    Ccm {
        file: "VNT128.rsp",
        key: "005e8f4d8e0cbf4e1ceeb5d87a275848",
        nonce: "0ec3ac452b547b9062aac8fa",
        pt: "b6f345204526439daf84998f380dcfb4b4167c959c04ff65",
        aad: "2f1821aa57e5278ffd33c17d46615b77363149dbc98470413f6543a6b749f2ca",
        ct: "9575e16f35da3c88a19c26a7b762044f4d7bbbafeff05d75",
        tag: "4829e2a7752fa3a14890972884b511d8",
    },
    Ccm {
        file: "VNT128.rsp",
        key: "ac87fef3b76e725d66d905625a387e82",
        nonce: "61bf06b9fa5a450d094f3ddcb5",
        pt: "959403e0771c21a416bd03f3898390e90d0a0899f69f9552",
        aad: "0245484bcd987787fe97fda6c8ffb6e7058d7b8f7064f27514afaac4048767fd",
        ct: "cabf8aa613d5357aa3e70173d43f1f202b628a61d18e8b57",
        tag: "2eb66bb8213a515aa61e5f0945cd57f4",
    },
    Ccm {
        file: "VNT256.rsp",
        key: "553521a765ab0c3fd203654e9916330e189bdf951feee9b44b10da208fee7acf",
        nonce: "aaa23f101647d8",
        pt: "644eb34b9a126e437b5e015eea141ca1a88020f2d5d6cc2c",
        aad: "a355d4c611812e5f9258d7188b3df8851477094ffc2af2cf0c8670db903fbbe0",
        ct: "27ed90668174ebf8241a3c74b35e1246b6617e4123578f15",
        tag: "3bdb67062a13ef4e986f5bb3d0bb4307",
    },
    Ccm {
        file: "VNT256.rsp",
        key: "d6ff67379a2ead2ca87aa4f29536258f9fb9fc2e91b0ed18e7b9f5df332dd1dc",
        nonce: "2f1d0717a822e20c7cd28f0a",
        pt: "98626ffc6c44f13c964e7fcb7d16e988990d6d063d012d33",
        aad: "d50741d34c8564d92f396b97be782923ff3c855ea9757bde419f632c83997630",
        ct: "50e22db70ac2bab6d6af7059c90d00fbf0fb52eee5eb650e",
        tag: "08aca7dec636170f481dcb9fefb85c05",
    },
    Ccm {
        file: "VNT256.rsp",
        key: "4a75ff2f66dae2935403cce27e829ad8be98185c73f8bc61d3ce950a83007e11",
        nonce: "46eb390b175e75da6193d7edb6",
        pt: "205f2a664a8512e18321a91c13ec13b9e6b633228c57cc1e",
        aad: "282f05f734f249c0535ee396282218b7c4913c39b59ad2a03ffaf5b0e9b0f780",
        ct: "58f1584f761983bef4d0060746b5d5ee610ecfda31101a7f",
        tag: "5460e9b7856d60a5ad9803c0762f8176",
    },
    Ccm {
        file: "VPT192.rsp",
        key: "91f9d636a071c3aad1743137e0644a73de9e47bd76acd919",
        nonce: "1bf491ac320d660eb2dd45c6c3",
        pt: "4eaf9384cad976f65f98042d561d760b5a787330dc658f6c",
        aad: "3bdfd7f18d2b6d0804d779f0679aaa2d7d32978c2df8015ae4b758d337be81dd",
        ct: "635530cab14e3d0a135bb6eebb5829412676e6dd4995f99c",
        tag: "b7e17f235bd660e7e17b2c65320e9fd4",
    },
];

#[test]
fn aes_ccm_cavp() {
    let (rt, mut q) = setup();
    for v in CCM {
        let (nonce, tag) = (h(v.nonce), h(v.tag));
        let what = format!("{} nonce {} tag {}", v.file, nonce.len(), tag.len());
        let k = CipherKey::new_aead(&rt, "sec", CipherAlg::AesCcm, &h(v.key), tag.len(), nonce.len()).unwrap();
        let ct_tag = [h(v.ct), tag].concat();
        assert_eq!(k.seal(&mut q, &nonce, &h(v.aad), &h(v.pt)).unwrap(), ct_tag, "{what}");
        assert_eq!(k.open(&mut q, &nonce, &h(v.aad), &ct_tag).unwrap(), h(v.pt), "{what}");
        let mut bad = ct_tag.clone();
        bad[0] ^= 1;
        assert!(matches!(k.open(&mut q, &nonce, &h(v.aad), &bad), Err(CryptoError::AuthFailed)), "{what}");
    }
}

/// (file, `Len` in bits, `Msg`, `MD`); `Len = 0` has `Msg = 00` in the
/// file, meaning the empty message.
const SHA256: &[(&str, usize, &str, &str)] = &[
    ("SHA256ShortMsg.rsp", 0, "00", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("SHA256ShortMsg.rsp", 8, "d3", "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1"),
    ("SHA256ShortMsg.rsp", 16, "11af", "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98"),
    ("SHA256ShortMsg.rsp", 24, "b4190e", "dff2e73091f6c05e528896c4c831b9448653dc2ff043528f6769437bc7b975c2"),
    (
        "SHA256LongMsg.rsp",
        1304,
        concat!(
            "451101250ec6f26652249d59dc974b7361d571a8101cdfd36aba3b5854d3ae086b5fdd4597721b66e3c0dc5d",
            "8c606d9657d0e323283a5217d1f53f2f284f57b85c8a61ac8924711f895c5ed90ef17745ed2d728abd22a5f7",
            "a13479a462d71b56c19a74a40b655c58edfe0a188ad2cf46cbf30524f65d423c837dd1ff2bf462ac41980073",
            "45bb44dbb7b1c861298cdf61982a833afc728fae1eda2f87aa2c9480858bec",
        ),
        "3c593aa539fdcdae516cdf2f15000f6634185c88f505b39775fb9ab137a10aa2",
    ),
];

#[test]
fn sha256_cavp() {
    let (rt, mut q) = setup();
    let stream = Stream::digest(&rt, "sec", DigestAlg::Sha256).unwrap();
    for (file, bits, msg, md) in SHA256 {
        let msg = &h(msg)[..bits / 8];
        assert_eq!(crypto::digest(&mut q, DigestAlg::Sha256, msg).unwrap(), h(md), "{file} Len = {bits}");
        // Streamed: pieces of 1, 2, 3, ... bytes.
        let mut rest = msg;
        let mut n = 1;
        while rest.len() > n {
            stream.update(&mut q, &rest[..n]).unwrap();
            rest = &rest[n..];
            n += 1;
        }
        assert_eq!(stream.finish(&mut q, rest).unwrap(), h(md), "{file} Len = {bits}, streamed");
    }
}
