//! Reading and writing `OSSL_PARAM` arrays the core hands us, with the
//! conversions OpenSSL's own `OSSL_PARAM_set_*`/`get_*` allow (any integer
//! width for sizes, octet strings by copy).

use std::ffi::{c_char, CStr};

use crate::ffi::{self, Param};

/// Why a parameter could not be read or written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    /// The type or size does not fit the value.
    #[error("parameter {0}: wrong type or size")]
    Type(String),
    /// The value is out of range for the algorithm.
    #[error("parameter {0}: bad value")]
    Value(String),
}

/// A parameter array from the core, walked without copying.
#[derive(Debug)]
pub struct Params {
    p: *mut Param,
}

impl Params {
    /// Wraps `p` (may be null: no parameters).
    ///
    /// # Safety
    /// `p` is null or a core-owned array ended by an entry with a null key,
    /// valid (and its data writable where the core means it so) for the
    /// life of the value.
    pub unsafe fn new(p: *mut Param) -> Params {
        Params { p }
    }

    /// Every entry.
    pub fn iter(&self) -> impl Iterator<Item = Entry<'_>> {
        let mut i = 0usize;
        std::iter::from_fn(move || {
            if self.p.is_null() {
                return None;
            }
            // SAFETY: the array is terminated (Params::new's contract); we
            // stop at the terminator, so `i` stays inside it.
            let e = unsafe { &mut *self.p.add(i) };
            if e.key.is_null() {
                return None;
            }
            i += 1;
            Some(Entry { e, _p: std::marker::PhantomData })
        })
    }

    /// The entry named `key`, if present.
    pub fn find(&self, key: &str) -> Option<Entry<'_>> {
        self.iter().find(|e| e.key() == key.as_bytes())
    }
}

/// One parameter.
#[derive(Debug)]
pub struct Entry<'a> {
    e: *mut Param,
    _p: std::marker::PhantomData<&'a mut Param>,
}

impl Entry<'_> {
    fn p(&self) -> &Param {
        // SAFETY: `e` points into the live array (Params::iter).
        unsafe { &*self.e }
    }

    /// The name's bytes.
    pub fn key(&self) -> &[u8] {
        // SAFETY: keys are NUL-terminated C strings (OSSL_PARAM contract).
        unsafe { CStr::from_ptr(self.p().key) }.to_bytes()
    }

    fn name(&self) -> String {
        String::from_utf8_lossy(self.key()).into_owned()
    }

    fn bad(&self) -> ParamError {
        ParamError::Type(self.name())
    }

    /// Writes an unsigned value (`size_t`, `uint`, or a signed integer it fits).
    pub fn set_uint(&mut self, v: u64) -> Result<(), ParamError> {
        let p = self.p();
        let ok = match (p.data_type, p.data_size) {
            (ffi::PARAM_UNSIGNED_INTEGER, 4) => u32::try_from(v).ok().map(|x| x.to_ne_bytes().to_vec()),
            (ffi::PARAM_INTEGER, 4) => i32::try_from(v).ok().map(|x| x.to_ne_bytes().to_vec()),
            (ffi::PARAM_UNSIGNED_INTEGER, 8) => Some(v.to_ne_bytes().to_vec()),
            (ffi::PARAM_INTEGER, 8) => i64::try_from(v).ok().map(|x| x.to_ne_bytes().to_vec()),
            _ => None,
        };
        let bytes = ok.ok_or_else(|| self.bad())?;
        if p.data.is_null() {
            // A size query: report what would be written.
            // SAFETY: `e` is valid and writable (the core's array).
            unsafe { (*self.e).return_size = bytes.len() };
            return Ok(());
        }
        // SAFETY: data holds data_size bytes (checked equal to bytes.len()).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.data.cast::<u8>(), bytes.len());
            (*self.e).return_size = bytes.len();
        }
        Ok(())
    }

    /// Writes a signed `int`-like value (flags 0/1).
    pub fn set_int(&mut self, v: i32) -> Result<(), ParamError> {
        let p = self.p();
        let bytes: Vec<u8> = match (p.data_type, p.data_size) {
            (ffi::PARAM_INTEGER, 4) => v.to_ne_bytes().to_vec(),
            (ffi::PARAM_INTEGER, 8) => (v as i64).to_ne_bytes().to_vec(),
            (ffi::PARAM_UNSIGNED_INTEGER, _) if v >= 0 => return self.set_uint(v as u64),
            _ => return Err(self.bad()),
        };
        if p.data.is_null() {
            // SAFETY: as in set_uint.
            unsafe { (*self.e).return_size = bytes.len() };
            return Ok(());
        }
        // SAFETY: data holds data_size == bytes.len() bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.data.cast::<u8>(), bytes.len());
            (*self.e).return_size = bytes.len();
        }
        Ok(())
    }

    /// True when the caller passed no buffer (a size only, or a query).
    pub fn data_is_null(&self) -> bool {
        self.p().data.is_null()
    }

    /// The size the caller gave (for a length passed as a buffer size).
    pub fn data_size(&self) -> usize {
        self.p().data_size
    }

    /// Reads an unsigned value of any width.
    pub fn get_uint(&self) -> Result<u64, ParamError> {
        let p = self.p();
        if p.data.is_null() {
            return Err(self.bad());
        }
        // SAFETY: data holds data_size bytes; read_unaligned for any alignment.
        let v = unsafe {
            match (p.data_type, p.data_size) {
                (ffi::PARAM_UNSIGNED_INTEGER, 4) => p.data.cast::<u32>().read_unaligned() as u64,
                (ffi::PARAM_UNSIGNED_INTEGER, 8) => p.data.cast::<u64>().read_unaligned(),
                (ffi::PARAM_INTEGER, 4) => {
                    u64::try_from(p.data.cast::<i32>().read_unaligned()).map_err(|_| self.bad())?
                }
                (ffi::PARAM_INTEGER, 8) => {
                    u64::try_from(p.data.cast::<i64>().read_unaligned()).map_err(|_| self.bad())?
                }
                _ => return Err(self.bad()),
            }
        };
        Ok(v)
    }

    /// The native-endian bytes of an unsigned integer of any size (a
    /// big number: RSA components, EC scalars).
    pub fn get_uint_bytes(&self) -> Result<&[u8], ParamError> {
        let p = self.p();
        if p.data_type != ffi::PARAM_UNSIGNED_INTEGER || p.data.is_null() || p.data_size == 0 {
            return Err(self.bad());
        }
        // SAFETY: data holds data_size readable bytes.
        Ok(unsafe { std::slice::from_raw_parts(p.data.cast::<u8>(), p.data_size) })
    }

    /// The parameter's type (`OSSL_PARAM_*`).
    pub fn data_type(&self) -> std::ffi::c_uint {
        self.p().data_type
    }

    /// Reads a signed integer of any width (an `int` parameter that may be
    /// negative: PSS salt lengths).
    pub fn get_int(&self) -> Result<i64, ParamError> {
        let p = self.p();
        if p.data.is_null() {
            return Err(self.bad());
        }
        // SAFETY: data holds data_size bytes; read_unaligned for any alignment.
        unsafe {
            match (p.data_type, p.data_size) {
                (ffi::PARAM_INTEGER, 4) => Ok(p.data.cast::<i32>().read_unaligned() as i64),
                (ffi::PARAM_INTEGER, 8) => Ok(p.data.cast::<i64>().read_unaligned()),
                (ffi::PARAM_UNSIGNED_INTEGER, _) => i64::try_from(self.get_uint()?).map_err(|_| self.bad()),
                _ => Err(self.bad()),
            }
        }
    }

    /// Reads a UTF-8 string parameter.
    pub fn get_utf8(&self) -> Result<&str, ParamError> {
        let p = self.p();
        if p.data_type != ffi::PARAM_UTF8_STRING || p.data.is_null() {
            return Err(self.bad());
        }
        // SAFETY: data holds data_size readable bytes (the terminator, if
        // any, is not counted, but we stop at a NUL anyway).
        let b = unsafe { std::slice::from_raw_parts(p.data.cast::<u8>(), p.data_size) };
        let b = b.split(|&c| c == 0).next().unwrap_or(b);
        std::str::from_utf8(b).map_err(|_| self.bad())
    }

    /// Reads an octet string (or octet pointer) by reference.
    pub fn get_octets(&self) -> Result<&[u8], ParamError> {
        let p = self.p();
        match p.data_type {
            ffi::PARAM_OCTET_STRING if p.data_size == 0 => Ok(&[]),
            ffi::PARAM_OCTET_STRING if !p.data.is_null() => {
                // SAFETY: data holds data_size readable bytes.
                Ok(unsafe { std::slice::from_raw_parts(p.data.cast::<u8>(), p.data_size) })
            }
            _ => Err(self.bad()),
        }
    }

    /// Room for an octet string answer (`data_size` bytes), or `None` for a
    /// size query (null data).
    pub fn octet_room(&mut self) -> Result<Option<&mut [u8]>, ParamError> {
        let p = *self.p();
        if p.data_type != ffi::PARAM_OCTET_STRING {
            return Err(self.bad());
        }
        if p.data.is_null() {
            return Ok(None);
        }
        // SAFETY: data holds data_size writable bytes (a get request).
        Ok(Some(unsafe { std::slice::from_raw_parts_mut(p.data.cast::<u8>(), p.data_size) }))
    }

    /// Answers an `octet_ptr` request with a pointer to `v` (which must
    /// stay put until the caller is done: a context's own buffer).
    pub fn set_octet_ptr(&mut self, v: &[u8]) -> Result<(), ParamError> {
        let p = *self.p();
        if p.data_type != ffi::PARAM_OCTET_PTR {
            return Err(self.bad());
        }
        if !p.data.is_null() {
            // SAFETY: data is a `void **` slot (octet_ptr contract).
            unsafe { p.data.cast::<*const u8>().write_unaligned(v.as_ptr()) };
        }
        // SAFETY: `e` is valid and writable.
        unsafe { (*self.e).return_size = v.len() };
        Ok(())
    }

    /// Writes an octet string; the buffer must hold it.
    pub fn set_octets(&mut self, v: &[u8]) -> Result<(), ParamError> {
        match self.octet_room()? {
            None => {}
            Some(room) if room.len() >= v.len() => room[..v.len()].copy_from_slice(v),
            Some(_) => return Err(self.bad()),
        }
        // SAFETY: `e` is valid and writable.
        unsafe { (*self.e).return_size = v.len() };
        Ok(())
    }

    /// Writes a pointer to a static UTF-8 string (`utf8_ptr`) or copies it
    /// (`utf8_string`).
    pub fn set_utf8(&mut self, v: &'static CStr) -> Result<(), ParamError> {
        let p = *self.p();
        let n = v.to_bytes().len();
        match p.data_type {
            ffi::PARAM_UTF8_PTR if !p.data.is_null() => {
                // SAFETY: data is a `const char **` slot (utf8_ptr contract).
                unsafe { p.data.cast::<*const c_char>().write_unaligned(v.as_ptr()) };
            }
            ffi::PARAM_UTF8_STRING if !p.data.is_null() && p.data_size > n => {
                // SAFETY: data holds data_size > n bytes: the text and its NUL.
                unsafe { std::ptr::copy_nonoverlapping(v.as_ptr().cast::<u8>(), p.data.cast::<u8>(), n + 1) };
            }
            ffi::PARAM_UTF8_PTR | ffi::PARAM_UTF8_STRING if p.data.is_null() => {}
            _ => return Err(self.bad()),
        }
        // SAFETY: `e` is valid and writable.
        unsafe { (*self.e).return_size = n };
        Ok(())
    }
}

/// A descriptor entry for the `gettable`/`settable` lists.
pub const fn describe(key: &'static CStr, data_type: std::ffi::c_uint) -> Param {
    Param { key: key.as_ptr(), data_type, data: std::ptr::null_mut(), data_size: 0, return_size: usize::MAX }
}

/// A descriptor with the size of its integer type: what OpenSSL uses to
/// build the parameter from text (`-pkeyopt bits:2048`), so it must name
/// the C type the implementation reads (`size_t`: 8, `int`: 4).
pub const fn describe_sized(key: &'static CStr, data_type: std::ffi::c_uint, size: usize) -> Param {
    Param { key: key.as_ptr(), data_type, data: std::ptr::null_mut(), data_size: size, return_size: usize::MAX }
}

/// The list terminator.
pub const END: Param =
    Param { key: std::ptr::null(), data_type: 0, data: std::ptr::null_mut(), data_size: 0, return_size: 0 };
