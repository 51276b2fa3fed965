//! The measuring tools: the load generator ([`load`], behind `quizd-load` and the serve bench)
//! and the raw baseline ([`baseline`], behind `quizd-baseline`), the ceiling quizd is measured
//! against.
//!
//! They live in this crate, not in one of their own, because they share the server's socket
//! code (the listener's set-up, the write path, the open-file limit) and the protocol's fixed
//! text in [`crate::wire`], much as `redis-benchmark` shares Redis's `ae.c` event loop: the
//! baseline sends quizd's bytes because it builds them with quizd's writers, and the load
//! generator's scanner recognises the anchors quizd writes because it reads them from the same
//! constants. A change to the wire therefore breaks their tests instead of silently skewing a
//! measurement. The server binary's code path never reaches them: nothing outside this module
//! uses it but the `quizd-load` and `quizd-baseline` binaries, the tests and the benches.

pub mod baseline;
pub mod load;
