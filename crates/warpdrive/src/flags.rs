//! Typed flag words: a request's descriptor flags and a completion's
//! flags, as small bit sets with named constants instead of raw integers.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use wd_abi::{DescFlags, CQE_FLAG_MORE};

/// A flag word over `$raw`: named bits, `contains`, union. Bits this
/// version does not name are kept (a device may set them, a test may send
/// them), and shown in hex by `Debug`.
macro_rules! flag_word {
    ($(#[$m:meta])* $name:ident($raw:ty) { $($(#[$cm:meta])* $flag:ident = $bits:expr;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name($raw);

        impl $name {
            $($(#[$cm])* pub const $flag: $name = $name($bits);)*

            /// Every bit this version names.
            pub const ALL: $name = $name(0 $(| $bits)*);

            /// No flag set.
            pub const fn empty() -> $name {
                $name(0)
            }

            /// The raw bits, as they travel in the ring.
            pub const fn bits(self) -> $raw {
                self.0
            }

            /// From raw bits, keeping any this version does not name.
            pub const fn from_bits_retain(bits: $raw) -> $name {
                $name(bits)
            }

            /// From raw bits; `None` if any bit is not named here.
            pub const fn from_bits(bits: $raw) -> Option<$name> {
                if bits & !Self::ALL.0 == 0 {
                    Some($name(bits))
                } else {
                    None
                }
            }

            /// True when every bit of `other` is set in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The bits of both.
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                self.union(rhs)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                *self = self.union(rhs);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                let mut rest = self.0;
                let mut sep = "";
                $(
                    if rest & $bits != 0 {
                        write!(f, "{sep}{}", stringify!($flag))?;
                        rest &= !$bits;
                        sep = " | ";
                    }
                )*
                if rest != 0 {
                    write!(f, "{sep}{rest:#x}")?;
                }
                write!(f, ")")
            }
        }
    };
}

flag_word! {
    /// Flags of a request ([`crate::Req::flags`]), carried in its
    /// descriptor. A device completes a request with a flag it does not
    /// support with `Status::BadParam`.
    ReqFlags(u16) {
        /// Reserved for chaining: the next request consumes this one's
        /// output. Devices that do not chain refuse it.
        LINK = DescFlags::LINK;
    }
}

flag_word! {
    /// Flags of a completion ([`crate::Done::flags`]).
    DoneFlags(u32) {
        /// A stream operation stopped early (output full) and continues
        /// with another request.
        MORE = CQE_FLAG_MORE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_bits_contain_and_show() {
        let f = DoneFlags::from_bits_retain(CQE_FLAG_MORE | 0x10);
        assert!(f.contains(DoneFlags::MORE));
        assert!(!DoneFlags::empty().contains(DoneFlags::MORE));
        assert!(DoneFlags::empty().contains(DoneFlags::empty()));
        assert_eq!(f.bits(), 0x11);
        assert_eq!(format!("{f:?}"), "DoneFlags(MORE | 0x10)");
        assert_eq!(format!("{:?}", DoneFlags::empty()), "DoneFlags()");
        assert_eq!(DoneFlags::from_bits(0x10), None);
        assert_eq!(ReqFlags::from_bits(DescFlags::LINK), Some(ReqFlags::LINK));
        // Every named bit; the rest of KNOWN is the two fence-id fields,
        // numbers set through `Queue::submit_fenced`, not named flags.
        assert_eq!((ReqFlags::empty() | ReqFlags::LINK).bits(), DescFlags::KNOWN & !DescFlags::FENCE_BITS);
        assert_eq!(ReqFlags::ALL.bits(), DescFlags::KNOWN & !DescFlags::FENCE_BITS);
    }
}
