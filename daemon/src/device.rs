// SPDX-License-Identifier: GPL-2.0

//! Opening the device (or file) behind a disk-like log, and how much of it
//! the log takes.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::ctr::is_maj_min;
use crate::errno;
use crate::error::{Error, Result};
use crate::store::{FileStore, Store};
use dm_log_shared::ondisk::{self, LogArea};

/// Block size of the log I/O and of the change tracking.
pub const BLOCK: usize = ondisk::MIN_BLOCK_SIZE;

/// Size in bytes of the on-disk area of a log of `regions` regions, in
/// [`BLOCK`]s.
pub fn disk_area_len(regions: u64) -> u64 {
    LogArea::new(regions, BLOCK).map_or(u64::MAX, |a| a.len() as u64)
}

/// A log device opened for a disk-like log.
pub struct LogDevice {
    /// The I/O path.
    pub store: Box<dyn Store>,
    /// Name printed in the status (`maj:min`, or the file path).
    pub name: String,
    /// `maj:min` the kernel should hold (block devices only).
    pub hold: Option<String>,
}

fn dev_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)
}

fn dev_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0xff)
}

/// Resolves `maj:min` to `/dev/<DEVNAME>` through sysfs.
fn resolve_maj_min(spec: &str) -> Result<String> {
    let uevent = format!("/sys/dev/block/{spec}/uevent");
    let text = std::fs::read_to_string(&uevent).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NoDevice(format!(
                "no block device {spec}: {uevent}: {}",
                errno::describe(&e)
            ))
        } else {
            Error::os(format!("no block device {spec}: {uevent}"), e)
        }
    })?;
    text.lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(|n| format!("/dev/{n}"))
        .ok_or_else(|| Error::NoDevice(format!("no DEVNAME in {uevent}")))
}

/// Opens the log device `spec` (a path or `maj:min`) read-write and checks
/// it can hold `need` bytes. A regular file that is too small is extended.
pub fn open_log_device(spec: &str, need: u64) -> Result<LogDevice> {
    let path = if is_maj_min(spec) {
        resolve_maj_min(spec)?
    } else {
        spec.to_string()
    };
    let fail = |what: &str, e: std::io::Error| Error::os(format!("{what} log device {path}"), e);
    let mut file: File = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| fail("cannot open", e))?;
    let meta = file.metadata().map_err(|e| fail("cannot stat", e))?;
    let ft = meta.file_type();
    if ft.is_block_device() {
        let rdev = meta.rdev();
        let name = format!("{}:{}", dev_major(rdev), dev_minor(rdev));
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| fail("cannot size", e))?;
        if size < need {
            return Err(Error::Invalid(format!(
                "log device {name} too small: need {need} bytes"
            )));
        }
        Ok(LogDevice {
            store: Box::new(FileStore::new(file)),
            name: name.clone(),
            hold: Some(name),
        })
    } else if ft.is_file() {
        if meta.len() < need {
            file.set_len(need).map_err(|e| fail("cannot extend", e))?;
        }
        Ok(LogDevice {
            store: Box::new(FileStore::new(file)),
            name: path.clone(),
            hold: None,
        })
    } else {
        Err(Error::Invalid(format!(
            "log device {path} is neither a block device nor a regular file"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_sizes() {
        assert_eq!(disk_area_len(0), 1024);
        assert_eq!(disk_area_len(1), 1536);
        assert_eq!(disk_area_len(4096), 1536);
        assert_eq!(disk_area_len(4097), 2048);
        assert_eq!(disk_area_len(2_097_152), 263_168);
    }

    #[test]
    fn open_errors() {
        let e = open_log_device("/nonexistent/dm-logd", 1024).err().unwrap();
        assert_eq!(e.errno(), libc::ENOENT);
        let e = open_log_device("/", 1024).err().unwrap();
        assert!(e.errno() == libc::EISDIR || e.errno() == libc::EINVAL);
        let e = open_log_device("4095:4095", 1024).err().unwrap();
        assert_eq!(e.errno(), libc::ENODEV);
    }
}
