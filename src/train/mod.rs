//! Fine-tuning and evaluation: CoNLL data ([`data`]), span metrics
//! ([`metrics`]), the optimizer ([`optim`]) and the training loop
//! ([`trainer`]).

pub mod data;
pub mod metrics;
pub mod optim;
pub mod trainer;
