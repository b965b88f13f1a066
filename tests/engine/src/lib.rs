// SPDX-License-Identifier: GPL-2.0

//! Host build of the bitmap region engine: the very file the kernel module
//! compiles, as a `no_std` library, so it can be tested with `cargo test`.

#![no_std]

#[path = "../../../src/engine.rs"]
mod engine;

pub use engine::*;
