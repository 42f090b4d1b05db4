//! Fine-tuning and evaluation: CoNLL data ([`data`]), span metrics
//! ([`metrics`]), the optimizer ([`optim`]), the training loop
//! ([`trainer`]) and masked-LM pretraining on raw text ([`pretrain`]).

pub(crate) mod backprop;
pub mod data;
pub mod encoder;
pub mod heads;
pub mod metrics;
pub mod optim;
pub mod pretrain;
pub mod trainer;
