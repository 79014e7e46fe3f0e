//! Constant-time helpers: masks the optimiser cannot see through, and the
//! hooks the `ct-probe` feature uses to check, under Valgrind, that no
//! branch or address depends on secret data.
//!
//! A mask built as `0 - bit` is, to LLVM, a value known to be 0 or all ones,
//! and `(a & mask) | (b & !mask)` over a whole buffer is then happily turned
//! into `if bit { memcpy }`: that is what the old `cond_sub_hi` compiled to.
//! Passing the mask through [`core::hint::black_box`] (an empty inline-asm
//! barrier) hides the fact, so the select stays arithmetic.

use core::hint::black_box;

/// All ones when `bit` (0 or 1) is 1, else 0; opaque to the optimiser.
#[inline(always)]
pub(crate) fn mask(bit: u64) -> u64 {
    black_box(0u64.wrapping_sub(bit & 1))
}

/// All ones when `x == 0`, else 0 (no branch).
#[inline(always)]
pub(crate) fn is_zero_mask(x: u64) -> u64 {
    // (x | -x) has its top bit set exactly when x != 0.
    mask(((x | x.wrapping_neg()) >> 63) ^ 1)
}

/// `out[i] = if mask { a[i] } else { out[i] }` for a mask from [`mask`].
#[inline(always)]
pub(crate) fn select_into(out: &mut [u64], a: &[u64], mask: u64) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = (x & mask) | (*o & !mask);
    }
}

/// All ones when `a == b` (equal lengths), else 0; reads every limb.
pub(crate) fn eq_mask(a: &[u64], b: &[u64]) -> u64 {
    let diff = a.iter().zip(b).fold(0u64, |d, (&x, &y)| d | (x ^ y));
    is_zero_mask(diff | (a.len() ^ b.len()) as u64)
}

/// Turns a secret-derived mask into a public yes/no. Use only where the
/// answer is public by design (a key is valid or not, a fault happened or
/// not, a value uniformly random and independent of every secret). Under
/// the `ct-probe` feature it also tells Valgrind that the value is public.
pub(crate) fn declassify(mask: u64) -> bool {
    let v = black_box(mask);
    #[cfg(feature = "ct-probe")]
    vg::make_defined(core::slice::from_ref(&v));
    v != 0
}

/// [`declassify`] for limbs: under `ct-probe`, marks them public.
#[cfg_attr(not(feature = "ct-probe"), allow(unused_variables, reason = "used only under ct-probe"))]
pub(crate) fn declassify_limbs(a: &[u64]) {
    #[cfg(feature = "ct-probe")]
    vg::make_defined(a);
}

/// Under `ct-probe`, marks fresh secret limbs (random blinding values) as
/// secret for Valgrind; a no-op otherwise.
#[cfg_attr(not(feature = "ct-probe"), allow(unused_variables, reason = "used only under ct-probe"))]
pub(crate) fn classify_limbs(a: &[u64]) {
    #[cfg(feature = "ct-probe")]
    vg::make_undefined(a);
}

/// Valgrind memcheck client requests: secret memory is marked
/// "undefined", so memcheck reports every conditional jump, and every
/// address, computed from it. Outside Valgrind the magic sequence is a
/// no-op (four rotations by 128 bits in all, and `xchg rbx, rbx`).
#[cfg(feature = "ct-probe")]
#[allow(unsafe_code, reason = "Valgrind client requests are inline assembly")]
pub(crate) mod vg {
    /// `VG_USERREQ_TOOL_BASE('M', 'C')`.
    const MC: u64 = (b'M' as u64) << 24 | (b'C' as u64) << 16;
    const MAKE_MEM_UNDEFINED: u64 = MC + 1;
    const MAKE_MEM_DEFINED: u64 = MC + 2;

    fn request<T>(req: u64, a: &[T]) {
        #[cfg(target_arch = "x86_64")]
        {
            let args: [u64; 6] = [req, a.as_ptr() as u64, core::mem::size_of_val(a) as u64, 0, 0, 0];
            // SAFETY: the Valgrind client-request preamble rotates rdi by
            // 128 bits in total (no net change; declared clobbered anyway)
            // and `xchg rbx, rbx` is a no-op; rax points at six readable
            // words; Valgrind writes its answer to rdx (declared as output).
            // Valgrind reads/changes only shadow state of `a`, never its bytes.
            unsafe {
                core::arch::asm!(
                    "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51", "xchg rbx, rbx",
                    inout("rdx") 0u64 => _,
                    in("rax") args.as_ptr(),
                    inout("rdi") 0u64 => _,
                    options(nostack, preserves_flags),
                );
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (req, a);
    }

    /// Marks `a` secret ("undefined" to memcheck).
    pub(crate) fn make_undefined<T>(a: &[T]) {
        request(MAKE_MEM_UNDEFINED, a);
    }

    /// Marks `a` public ("defined").
    pub(crate) fn make_defined<T>(a: &[T]) {
        request(MAKE_MEM_DEFINED, a);
    }
}
