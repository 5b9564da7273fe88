//! Benchmark support: the standard scene. The measuring itself is in the CLI (`padlooper bench`).

pub mod scene;
