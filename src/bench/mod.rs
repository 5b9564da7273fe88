//! Benchmark support: the standard scene and block-by-block timing. The passes themselves are
//! in the CLI (`padlooper bench`).

pub mod machine;
pub mod measure;
pub mod scene;
