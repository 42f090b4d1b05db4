//! Named-entity recognition for Arabic: persons, organizations, places and
//! dates, with a BERT token classifier run on the CPU by candle.

pub mod error;
pub mod model;
pub mod scheme;
pub mod text;
pub mod train;
pub mod values;

pub use error::{Error, Result};
