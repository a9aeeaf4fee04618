//! Plain types shared by every module. No I/O.
