//! [`OpenOptions`]: how [`Path::open_with`](crate::Path::open_with) opens a file.

use pike_core::wire::{CreateRequest, access, create_options, disposition};

use crate::Error;
use crate::path::normalize;

/// How to open a file, after `std::fs::OpenOptions`.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    pub(crate) append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    directory: bool,
    /// Extra CreateOptions bits.
    pub create_options: u32,
    /// Extra DesiredAccess bits.
    pub desired_access: u32,
}

impl OpenOptions {
    /// Nothing set (like `std::fs::OpenOptions::new`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Open an existing directory for listing.
    pub fn directory() -> Self {
        Self {
            read: true,
            directory: true,
            ..Self::default()
        }
    }

    /// Python's modes: `r`, `r+`, `w`, `w+`, `x`, `x+`, `a`, `a+` (`b` allowed).
    pub fn from_mode(mode: &str) -> Result<Self, Error> {
        let m: String = mode.chars().filter(|c| *c != 'b').collect();
        let plus = m.ends_with('+');
        let mut o = Self::new();
        match m.trim_end_matches('+') {
            "r" => o.read = true,
            "w" => {
                o.write = true;
                o.create = true;
                o.truncate = true;
            }
            "x" => {
                o.write = true;
                o.create_new = true;
            }
            "a" => {
                o.write = true;
                o.append = true;
                o.create = true;
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "open mode {mode:?}: expected r, w, x or a, optionally with +"
                )));
            }
        }
        if plus {
            o.read = true;
            o.write = true;
        }
        Ok(o)
    }

    /// Read access.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Write access.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Writes go to the end of the file.
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate an existing file.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if missing.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// The CREATE request for `path` (MS-SMB2 2.2.13).
    pub fn create_request(&self, path: &str) -> Result<CreateRequest, Error> {
        if !self.read && !self.write && !self.append && self.desired_access == 0 {
            return Err(Error::InvalidArgument(
                "open with neither read nor write".into(),
            ));
        }
        let mut acc = self.desired_access | access::FILE_READ_ATTRIBUTES | access::SYNCHRONIZE;
        if self.read {
            acc |= access::GENERIC_READ;
        }
        if self.write || self.append {
            acc |= access::GENERIC_WRITE;
        }
        let disp = match (self.create_new, self.create, self.truncate) {
            (true, _, _) => disposition::CREATE,
            (false, true, true) => disposition::OVERWRITE_IF,
            (false, true, false) => disposition::OPEN_IF,
            (false, false, true) => disposition::OVERWRITE,
            (false, false, false) => disposition::OPEN,
        };
        let kind = if self.directory {
            create_options::DIRECTORY_FILE
        } else {
            create_options::NON_DIRECTORY_FILE
        };
        Ok(crate::path::create(
            &normalize(path),
            acc,
            disp,
            kind | self.create_options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_map_to_dispositions() {
        let d = |m: &str| {
            OpenOptions::from_mode(m)
                .unwrap()
                .create_request("f")
                .unwrap()
        };
        assert_eq!(d("r").create_disposition, disposition::OPEN);
        assert_eq!(d("rb").create_disposition, disposition::OPEN);
        assert_eq!(d("w").create_disposition, disposition::OVERWRITE_IF);
        assert_eq!(d("x").create_disposition, disposition::CREATE);
        assert_eq!(d("a").create_disposition, disposition::OPEN_IF);
        assert_ne!(d("r+").desired_access & access::GENERIC_WRITE, 0);
        assert_eq!(d("r").desired_access & access::GENERIC_WRITE, 0);
        assert!(OpenOptions::from_mode("q").is_err());
        assert!(OpenOptions::new().create_request("f").is_err());
    }
}
