//! One object-safe face for the AEADs whose nonce and tag lengths are
//! fixed by their types (RustCrypto's, and our GCM for the other lengths),
//! so a session picks them at run time. Below both `cipher`, which
//! chooses, and `gcm`, which implements it.

use aes_gcm::aead::AeadInPlace;
use cipher::generic_array::GenericArray;
use cipher::KeyInit;

use crate::SecError;

/// A RustCrypto AEAD whose nonce and tag lengths are fixed by its type,
/// behind one object-safe face so sessions can pick them at run time.
pub(crate) trait DynAead: Send + Sync {
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), SecError>;
    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool;
}

impl<A: AeadInPlace + Send + Sync> DynAead for A {
    // The lengths were checked when the session was made and again by
    // the callers below, so `from_slice` cannot see a wrong length.
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), SecError> {
        let t = engine(self.encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf))?;
        tag.copy_from_slice(&t);
        Ok(())
    }

    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        self.decrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf, GenericArray::from_slice(tag)).is_ok()
    }
}

pub(crate) fn dyn_aead<A: AeadInPlace + KeyInit + Send + Sync + 'static>(
    key: &[u8],
) -> Result<Box<dyn DynAead>, SecError> {
    Ok(Box::new(engine(A::new_from_slice(key))?))
}

/// An engine's error as ours: the engines refuse only what the session
/// checks should have refused first.
pub(crate) fn engine<T, E>(r: Result<T, E>) -> Result<T, SecError> {
    r.map_err(|_| SecError::Engine)
}
