//! `Debug` for the handles of [`crate::comp`] and [`crate::crypto`], built
//! from what they show publicly: never a key, a buffer or stream content.
//! (Kept apart from those modules, which change on their own schedule.)

use std::fmt;
use std::io::{Read, Write};

use crate::comp::{Decoder, Encoder, Zip};
use crate::crypto::{CipherKey, HashAlg, Hasher, Hmac, Stream};

impl fmt::Debug for Zip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zip").finish_non_exhaustive()
    }
}

impl<W: Write> fmt::Debug for Encoder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder").field("format", &self.format()).finish_non_exhaustive()
    }
}

impl<R: Read> fmt::Debug for Decoder<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder").field("format", &self.format()).finish_non_exhaustive()
    }
}

impl fmt::Debug for CipherKey {
    /// The algorithm and the session id; the key stays on the device.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherKey")
            .field("alg", &self.alg())
            .field("session", &self.session())
            .field("tag_len", &self.tag_len())
            .field("iv_len", &self.iv_len())
            .finish()
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("output_len", &self.output_len()).finish_non_exhaustive()
    }
}

impl<A: HashAlg> fmt::Debug for Hasher<A> {
    /// The algorithm only: buffered input is not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").field("alg", &A::ALG).finish_non_exhaustive()
    }
}

impl<A: HashAlg> fmt::Debug for Hmac<A> {
    /// The algorithm only: neither the key nor buffered input is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hmac").field("alg", &A::ALG).finish_non_exhaustive()
    }
}
