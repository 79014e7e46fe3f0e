//! ChaCha20-Poly1305 (RFC 8439) for a message fed in several updates: the
//! ChaCha20 block function (section 2.3) and Poly1305 (section 2.5) kept
//! incremental, inline, so that a long stream costs one pass. A message
//! passed in one update never comes here: it is one request on the Auto
//! lane.

use zeroize::{Zeroize, Zeroizing};

const BLOCK: usize = 64;

/// One ChaCha20 block: key, counter and nonce in, 64 bytes of keystream out.
fn chacha_block(key: &[u32; 8], counter: u32, nonce: &[u32; 3]) -> [u8; BLOCK] {
    let mut s: [u32; 16] = [0; 16];
    s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    s[4..12].copy_from_slice(key);
    s[12] = counter;
    s[13..].copy_from_slice(nonce);
    let mut w = s;
    fn qr(w: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        w[a] = w[a].wrapping_add(w[b]);
        w[d] = (w[d] ^ w[a]).rotate_left(16);
        w[c] = w[c].wrapping_add(w[d]);
        w[b] = (w[b] ^ w[c]).rotate_left(12);
        w[a] = w[a].wrapping_add(w[b]);
        w[d] = (w[d] ^ w[a]).rotate_left(8);
        w[c] = w[c].wrapping_add(w[d]);
        w[b] = (w[b] ^ w[c]).rotate_left(7);
    }
    for _ in 0..10 {
        qr(&mut w, 0, 4, 8, 12);
        qr(&mut w, 1, 5, 9, 13);
        qr(&mut w, 2, 6, 10, 14);
        qr(&mut w, 3, 7, 11, 15);
        qr(&mut w, 0, 5, 10, 15);
        qr(&mut w, 1, 6, 11, 12);
        qr(&mut w, 2, 7, 8, 13);
        qr(&mut w, 3, 4, 9, 14);
    }
    let mut out = [0u8; BLOCK];
    for (i, (x, y)) in w.iter().zip(s.iter()).enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.wrapping_add(*y).to_le_bytes());
    }
    w.zeroize();
    s.zeroize();
    out
}

/// Poly1305 over 26-bit limbs: the accumulator `h`, the clamped key `r`.
#[derive(Clone)]
struct Poly1305 {
    r: [u64; 5],
    h: [u64; 5],
    s: [u8; 16],
    buf: [u8; 16],
    used: usize,
}

impl Drop for Poly1305 {
    fn drop(&mut self) {
        self.r.zeroize();
        self.h.zeroize();
        self.s.zeroize();
        self.buf.zeroize();
    }
}

fn le32(b: &[u8]) -> u64 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64
}

impl Poly1305 {
    fn new(key: &[u8; 32]) -> Poly1305 {
        const M: u64 = 0x3ff_ffff;
        let r = [
            le32(&key[0..]) & 0x3ff_ffff,
            (le32(&key[3..]) >> 2) & 0x3ff_ff03,
            (le32(&key[6..]) >> 4) & 0x3ff_c0ff,
            (le32(&key[9..]) >> 6) & 0x3f0_3fff,
            (le32(&key[12..]) >> 8) & 0x00f_ffff,
        ];
        debug_assert!(r.iter().all(|&x| x <= M));
        let mut s = [0u8; 16];
        s.copy_from_slice(&key[16..]);
        Poly1305 { r, h: [0; 5], s, buf: [0; 16], used: 0 }
    }

    /// Absorbs one 16-byte block; `hibit` is 2^128 for a full block.
    fn block(&mut self, m: &[u8; 16], hibit: u64) {
        const M: u64 = 0x3ff_ffff;
        let [r0, r1, r2, r3, r4] = self.r;
        let (s1, s2, s3, s4) = (r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        let h = &mut self.h;
        h[0] += le32(&m[0..]) & M;
        h[1] += (le32(&m[3..]) >> 2) & M;
        h[2] += (le32(&m[6..]) >> 4) & M;
        h[3] += (le32(&m[9..]) >> 6) & M;
        h[4] += (le32(&m[12..]) >> 8) | hibit;
        let d0 = h[0] * r0 + h[1] * s4 + h[2] * s3 + h[3] * s2 + h[4] * s1;
        let mut d1 = h[0] * r1 + h[1] * r0 + h[2] * s4 + h[3] * s3 + h[4] * s2;
        let mut d2 = h[0] * r2 + h[1] * r1 + h[2] * r0 + h[3] * s4 + h[4] * s3;
        let mut d3 = h[0] * r3 + h[1] * r2 + h[2] * r1 + h[3] * r0 + h[4] * s4;
        let mut d4 = h[0] * r4 + h[1] * r3 + h[2] * r2 + h[3] * r1 + h[4] * r0;
        let mut c = d0 >> 26;
        h[0] = d0 & M;
        d1 += c;
        c = d1 >> 26;
        h[1] = d1 & M;
        d2 += c;
        c = d2 >> 26;
        h[2] = d2 & M;
        d3 += c;
        c = d3 >> 26;
        h[3] = d3 & M;
        d4 += c;
        c = d4 >> 26;
        h[4] = d4 & M;
        h[0] += c * 5;
        c = h[0] >> 26;
        h[0] &= M;
        h[1] += c;
    }

    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = (16 - self.used).min(data.len());
            self.buf[self.used..self.used + n].copy_from_slice(&data[..n]);
            self.used += n;
            data = &data[n..];
            if self.used == 16 {
                let b = self.buf;
                self.block(&b, 1 << 24);
                self.used = 0;
            }
        }
    }

    /// Zero-pads what is buffered to a whole block (RFC 8439's pad16).
    fn pad16(&mut self) {
        if self.used > 0 {
            self.update(&[0u8; 16][..16 - self.used]);
        }
    }

    fn finish(mut self) -> [u8; 16] {
        const M: u64 = 0x3ff_ffff;
        debug_assert_eq!(self.used, 0, "the AEAD pads before the lengths");
        let h = &mut self.h;
        // Full carry, then h mod 2^130 - 5 by a conditional subtraction.
        let mut c = h[1] >> 26;
        h[1] &= M;
        for x in &mut h[2..] {
            *x += c;
            c = *x >> 26;
            *x &= M;
        }
        h[0] += c * 5;
        c = h[0] >> 26;
        h[0] &= M;
        h[1] += c;
        let mut g = [0u64; 5];
        c = 5;
        for i in 0..5 {
            g[i] = h[i] + c;
            c = g[i] >> 26;
            g[i] &= M;
        }
        // g = h + 5 - 2^130: use it when h >= p (bit 130 of h + 5 set).
        let use_g = (c & 1).wrapping_neg();
        for i in 0..5 {
            h[i] = (h[i] & !use_g) | (g[i] & use_g);
        }
        let lo = h[0] | (h[1] << 26) | (h[2] << 52);
        let hi = (h[2] >> 12) | (h[3] << 14) | (h[4] << 40);
        let acc = (lo as u128 & 0xffff_ffff_ffff_ffff) | ((hi as u128) << 64);
        let t = acc.wrapping_add(u128::from_le_bytes(self.s));
        t.to_le_bytes()
    }
}

/// A ChaCha20-Poly1305 message in progress.
#[derive(Clone)]
pub struct ChachaStream {
    key: Zeroizing<[u32; 8]>,
    nonce: [u32; 3],
    counter: u32,
    /// Unused keystream of the last block.
    ks: Zeroizing<Vec<u8>>,
    poly: Poly1305,
    aad_len: u64,
    ct_len: u64,
}

// By hand: the state is keyed; print nothing of it.
impl std::fmt::Debug for ChachaStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChachaStream").field("ct_len", &self.ct_len).finish_non_exhaustive()
    }
}

impl ChachaStream {
    /// Starts a message under a 32-byte key and 12-byte nonce with all of
    /// its `aad`; `None` for other sizes.
    pub fn new(key: &[u8], nonce: &[u8], aad: &[u8]) -> Option<ChachaStream> {
        if key.len() != 32 || nonce.len() != 12 {
            return None;
        }
        let mut k = Zeroizing::new([0u32; 8]);
        for (w, b) in k.iter_mut().zip(key.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let mut n = [0u32; 3];
        for (w, b) in n.iter_mut().zip(nonce.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        // The one-time Poly1305 key: block 0's first 32 bytes.
        let mut b0 = chacha_block(&k, 0, &n);
        let mut otk = [0u8; 32];
        otk.copy_from_slice(&b0[..32]);
        b0.zeroize();
        let mut poly = Poly1305::new(&otk);
        otk.zeroize();
        poly.update(aad);
        poly.pad16();
        Some(ChachaStream {
            key: k,
            nonce: n,
            counter: 1,
            ks: Zeroizing::new(Vec::new()),
            poly,
            aad_len: aad.len() as u64,
            ct_len: 0,
        })
    }

    fn xor(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut rest = data;
        while !rest.is_empty() {
            if self.ks.is_empty() {
                let b = chacha_block(&self.key, self.counter, &self.nonce);
                self.counter = self.counter.wrapping_add(1);
                self.ks = Zeroizing::new(b.to_vec());
            }
            let n = self.ks.len().min(rest.len());
            out.extend(rest[..n].iter().zip(self.ks.drain(..n)).map(|(d, k)| d ^ k));
            rest = &rest[n..];
        }
        out
    }

    /// Encrypts the next part of the message.
    pub fn encrypt(&mut self, data: &[u8]) -> Vec<u8> {
        let out = self.xor(data);
        self.poly.update(&out);
        self.ct_len += out.len() as u64;
        out
    }

    /// Decrypts the next part (released before the tag is checked, as
    /// streaming must; `final` checks it).
    pub fn decrypt(&mut self, data: &[u8]) -> Vec<u8> {
        self.poly.update(data);
        self.ct_len += data.len() as u64;
        self.xor(data)
    }

    /// The tag of the message so far.
    pub fn tag(mut self) -> [u8; 16] {
        self.poly.pad16();
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&self.aad_len.to_le_bytes());
        lens[8..].copy_from_slice(&self.ct_len.to_le_bytes());
        self.poly.update(&lens);
        self.poly.clone().finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn poly1305_rfc8439_2_5_2() {
        let key = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        let mut p = Poly1305::new(key.as_slice().try_into().expect("32 bytes"));
        p.update(b"Cryptographic Forum Research Group");
        p.pad16_for_test();
        assert_eq!(p.finish().to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"));
    }

    impl Poly1305 {
        /// The last partial block as Poly1305 itself pads it (0x01 then
        /// zeros), unlike the AEAD's pad16.
        fn pad16_for_test(&mut self) {
            if self.used > 0 {
                let mut b = [0u8; 16];
                b[..self.used].copy_from_slice(&self.buf[..self.used]);
                b[self.used] = 1;
                self.block(&b, 0);
                self.used = 0;
            }
        }
    }

    #[test]
    fn chacha20_block_rfc8439_2_3_2() {
        let key: Vec<u32> = (0..8u32)
            .map(|i| u32::from_le_bytes([4 * i as u8, 4 * i as u8 + 1, 4 * i as u8 + 2, 4 * i as u8 + 3]))
            .collect();
        let out = chacha_block(key.as_slice().try_into().expect("8 words"), 1, &[0x0900_0000, 0x4a00_0000, 0]);
        assert_eq!(out[..16].to_vec(), hex("10f1e7e4d13b5915500fdd1fa32071c4"));
    }

    #[test]
    fn streamed_equals_the_one_shot_engine() {
        let key = [7u8; 32];
        let nonce = [9u8; 12];
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31) as u8).collect();
        let k = wd_sec::cipher::CipherKey::new(wd_ops::sec::CipherAlg::ChaCha20Poly1305, &key).expect("key");
        let mut want = vec![0u8; data.len() + 16];
        k.seal_to(&nonce, b"aad", &data, &mut want).expect("seal");
        for chunk in [1usize, 63, 64, 65, 999] {
            let mut s = ChachaStream::new(&key, &nonce, b"aad").expect("stream");
            let mut got: Vec<u8> = data.chunks(chunk).flat_map(|c| s.encrypt(c)).collect();
            got.extend_from_slice(&s.tag());
            assert_eq!(got, want, "chunk {chunk}");
        }
    }
}
