//! Named-entity recognition for Arabic: persons, organizations, places and
//! dates, with a BERT token classifier run on the CPU by candle.

pub mod entity;
pub mod error;
pub mod fs;
pub mod import;
pub mod input;
pub mod model;
pub mod output;
pub mod scheme;
pub mod tagger;
pub mod text;
pub mod train;
pub mod values;

pub use entity::{Document, Entity};
pub use error::{Error, Result};
pub use tagger::{Tagger, TaggerBuilder};
