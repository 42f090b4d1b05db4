//! The `arabic_ner._native` extension: the tagger of the `arabic-ner` crate
//! for Python. The Python package `arabic_ner` re-exports what is here.
//!
//! The shipped model is compiled in (the core crate's default feature
//! `embedded-model`), so the wheel carries it without a second copy of the
//! files in the repository or any path to find at run time: `Tagger()` works
//! wherever the extension is installed, a Spark executor included.

// The allocator the command line uses: the system's costs the tagger's
// per-batch buffers a page clearing each time (Rust allocations only;
// Python's objects keep Python's allocator).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use arabic_ner::model::packed::Precision;
use arabic_ner::tagger::{Aggregation, Decoding};
use arabic_ner::values::date::{Calendar, Ymd};
use arabic_ner::{Error, TaggerBuilder};
use pyo3::exceptions::{
    PyException, PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

pyo3::create_exception!(
    arabic_ner,
    ModelError,
    PyException,
    "A model folder that is missing or cannot be loaded; the message names the file and the problem."
);

/// Text gathered before the model runs, as the command line gathers it:
/// enough to batch well; Ctrl-C is looked at between two such chunks.
const CHUNK_BYTES: usize = 256 << 10;
const CHUNK_DOCS: usize = 512;

/// The Python exception for an error of the library, with its message.
fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Model { .. } => ModelError::new_err(msg),
        Error::Usage(_) => PyValueError::new_err(python_names(&msg)),
        Error::Input { .. } => PyValueError::new_err(msg),
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Interrupted => PyKeyboardInterrupt::new_err(msg),
        Error::Tensor(_) => PyRuntimeError::new_err(msg),
    }
}

/// A usage message of the library names options as the command line does
/// (`--batch-size`); here they are keyword arguments (`batch_size`).
fn python_names(msg: &str) -> String {
    msg.split(' ')
        .map(|w| match w.strip_prefix("--") {
            Some(name) if name.starts_with(|c: char| c.is_ascii_lowercase()) => {
                name.replace('-', "_")
            }
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `f`, turning a panic into an error rather than letting it unwind
/// into Python.
fn guarded<T>(what: &str, f: impl FnOnce() -> arabic_ner::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_py),
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(PyRuntimeError::new_err(format!(
                "internal error while {what} (a bug, please report it): {detail}"
            )))
        }
    }
}

/// The normalized value of a date entity.
#[pyclass(module = "arabic_ner", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct DateValue {
    /// TIMEX3 / ISO 8601 style value (`2022-01-13`, `2022-H1`, `XXXX-WXX-3`,
    /// `2022-01-13/2022-01-14` ...), in the calendar of `calendar`.
    value: String,
    /// `"gregorian"` or `"hijri"`.
    calendar: String,
    /// For Hijri values, the Gregorian day when it is known; else `None`.
    gregorian: Option<String>,
}

#[pymethods]
impl DateValue {
    /// The value as a dict: `value`, `calendar`, `gregorian`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("value", &self.value)?;
        d.set_item("calendar", &self.calendar)?;
        d.set_item("gregorian", &self.gregorian)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let mut s = format!(
            "DateValue(value={}, calendar={}",
            py_str(&self.value),
            py_str(&self.calendar)
        );
        if let Some(g) = &self.gregorian {
            s.push_str(&format!(", gregorian={}", py_str(g)));
        }
        s.push(')');
        s
    }
}

/// One named entity: a span of the input text.
///
/// `text == input[start:end]` for the Python string that was tagged;
/// `byte_start`/`byte_end` are the same span in its UTF-8 encoding.
#[pyclass(module = "arabic_ner", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct Entity {
    /// `PER`, `ORG`, `LOC`, `DATE`, `MISC`, or a type of the model's own.
    label: String,
    /// The entity as written in the input.
    text: String,
    /// Index of its first character in the input `str`.
    start: usize,
    /// Index one past its last character.
    end: usize,
    /// First byte in the UTF-8 encoding of the input.
    byte_start: usize,
    /// One past the last byte.
    byte_end: usize,
    /// Mean probability of the entity's word labels.
    score: f64,
    /// ISO 3166-1 alpha-2 code when a place names a sovereign state.
    country: Option<String>,
    /// The normalized value of a date, when the text allows one.
    date: Option<DateValue>,
}

impl From<arabic_ner::Entity> for Entity {
    fn from(e: arabic_ner::Entity) -> Self {
        Entity {
            label: e.label,
            text: e.text,
            start: e.start,
            end: e.end,
            byte_start: e.byte_start,
            byte_end: e.byte_end,
            score: f64::from(e.score),
            country: e.country.map(str::to_string),
            date: e.date.map(|d| DateValue {
                value: d.value,
                calendar: match d.calendar {
                    Calendar::Gregorian => "gregorian",
                    Calendar::Hijri => "hijri",
                }
                .to_string(),
                gregorian: d.gregorian,
            }),
        }
    }
}

/// A string as Python's `repr` would quote it (close enough for display).
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[pymethods]
impl Entity {
    /// The entity as a dict of plain values (`date` a dict or `None`), the
    /// shape of a row of the Spark output.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("label", &self.label)?;
        d.set_item("text", &self.text)?;
        d.set_item("start", self.start)?;
        d.set_item("end", self.end)?;
        d.set_item("byte_start", self.byte_start)?;
        d.set_item("byte_end", self.byte_end)?;
        d.set_item("score", self.score)?;
        d.set_item("country", &self.country)?;
        match &self.date {
            Some(v) => d.set_item("date", v.to_dict(py)?)?,
            None => d.set_item("date", py.None())?,
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let mut s = format!(
            "Entity(label={}, text={}, start={}, end={}, score={:.3}",
            py_str(&self.label),
            py_str(&self.text),
            self.start,
            self.end,
            self.score
        );
        if let Some(c) = &self.country {
            s.push_str(&format!(", country={}", py_str(c)));
        }
        if let Some(d) = &self.date {
            s.push_str(&format!(", date={}", d.__repr__()));
        }
        s.push(')');
        s
    }
}

/// A model loaded once, to tag many texts; safe to share between threads.
#[pyclass(module = "arabic_ner", frozen)]
pub struct Tagger {
    inner: Arc<arabic_ner::Tagger>,
    /// The tagger's own threads, when a number was asked for; else the
    /// process-wide pool (one thread a core).
    pool: Option<Arc<rayon::ThreadPool>>,
    threads: usize,
    model: String,
}

/// The model argument: a folder (`str` or `os.PathLike`) or a Hub id.
fn model_spec(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    let fspath = obj
        .py()
        .import("os")?
        .getattr("fspath")?
        .call1((obj,))
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "model must be a str or os.PathLike, not {}",
                type_name(obj)
            ))
        })?;
    match fspath.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(
            "model must be a str path, not a bytes path",
        )),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A positive count option.
fn positive(name: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if obj.is_instance_of::<pyo3::types::PyBool>() || !obj.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not {}",
            type_name(obj)
        )));
    }
    let n: i64 = obj
        .extract()
        .map_err(|_| PyValueError::new_err(format!("{name} must be between 1 and 2**63")))?;
    if n < 1 {
        return Err(PyValueError::new_err(format!(
            "{name} must be at least 1, got {n}"
        )));
    }
    Ok(Some(n as usize))
}

/// `reference_date`: `"YYYY-MM-DD"` or a `datetime.date`.
fn reference_date(obj: &Bound<'_, PyAny>) -> PyResult<Ymd> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        return s.parse::<Ymd>().map_err(|_| {
            PyValueError::new_err(format!("reference_date {s:?} is not a date YYYY-MM-DD"))
        });
    }
    let date_type = obj.py().import("datetime")?.getattr("date")?;
    if !obj.is_instance(&date_type)? {
        return Err(PyTypeError::new_err(format!(
            "reference_date must be a str YYYY-MM-DD or a datetime.date, not {}",
            type_name(obj)
        )));
    }
    let (y, m, d): (i32, u32, u32) = (
        obj.getattr("year")?.extract()?,
        obj.getattr("month")?.extract()?,
        obj.getattr("day")?.extract()?,
    );
    Ymd::new(y, m, d)
        .ok_or_else(|| PyValueError::new_err(format!("reference_date {y}-{m}-{d} is not a date")))
}

/// `labels`: an iterable of type names, or one string of names separated by
/// commas as on the command line.
fn label_set(obj: &Bound<'_, PyAny>) -> PyResult<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if let Ok(s) = obj.cast::<PyString>() {
        for part in s.to_cow()?.split(',') {
            if !part.trim().is_empty() {
                out.insert(part.trim().to_string());
            }
        }
    } else {
        let iter = obj.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "labels must be an iterable of str, not {}",
                type_name(obj)
            ))
        })?;
        for item in iter {
            let item = item?;
            let s = item.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!("labels must hold str, not {}", type_name(&item)))
            })?;
            let s = s.to_cow()?;
            if !s.trim().is_empty() {
                out.insert(s.trim().to_string());
            }
        }
    }
    if out.is_empty() {
        return Err(PyValueError::new_err(
            "labels is empty: name at least one type",
        ));
    }
    Ok(out)
}

/// The text of one input, or a `TypeError` naming what it was.
fn text_of(obj: &Bound<'_, PyAny>, what: &dyn Fn() -> String) -> PyResult<String> {
    let s = obj.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!("{} must be a str, not {}", what(), type_name(obj)))
    })?;
    s.to_cow()
        .map(|c| c.into_owned())
        .map_err(|e| PyValueError::new_err(format!("{} is not valid Unicode: {e}", what())))
}

impl Tagger {
    /// Tags texts on the tagger's threads, without the GIL.
    fn run(&self, py: Python<'_>, texts: &[String]) -> PyResult<Vec<Vec<arabic_ner::Entity>>> {
        let inner = &self.inner;
        let pool = self.pool.as_deref();
        py.detach(|| {
            guarded("tagging", || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                match pool {
                    Some(p) => p.install(|| inner.tag_batch(&refs)),
                    None => inner.tag_batch(&refs),
                }
            })
        })
    }
}

fn entity_list<'py>(
    py: Python<'py>,
    entities: Vec<arabic_ner::Entity>,
) -> PyResult<Bound<'py, PyList>> {
    let items = entities
        .into_iter()
        .map(|e| Bound::new(py, Entity::from(e)))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

#[pymethods]
impl Tagger {
    /// Loads a model: `model` is a folder or a Hugging Face Hub id
    /// (`org/name[@revision]`); `None` is the model shipped with the package.
    #[new]
    #[pyo3(signature = (model=None, *, threads=None, batch_size=None, labels=None, min_score=None, aggregation=None, decoding=None, reference_date=None, precision=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: Option<&Bound<'_, PyAny>>,
        threads: Option<&Bound<'_, PyAny>>,
        batch_size: Option<&Bound<'_, PyAny>>,
        labels: Option<&Bound<'_, PyAny>>,
        min_score: Option<&Bound<'_, PyAny>>,
        aggregation: Option<&Bound<'_, PyAny>>,
        decoding: Option<&Bound<'_, PyAny>>,
        reference_date: Option<&Bound<'_, PyAny>>,
        precision: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut builder = TaggerBuilder::default();
        let model = match model.filter(|m| !m.is_none()) {
            Some(m) => {
                let spec = model_spec(m)?;
                if spec.is_empty() {
                    return Err(PyValueError::new_err("model is an empty string"));
                }
                builder = builder.model(spec.clone());
                Some(spec)
            }
            None => None,
        };
        let threads = positive("threads", threads)?;
        if let Some(n) = positive("batch_size", batch_size)? {
            builder = builder.batch_size(n);
        }
        if let Some(obj) = min_score.filter(|o| !o.is_none()) {
            let s: f64 = obj.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "min_score must be a number, not {}",
                    type_name(obj)
                ))
            })?;
            if !(0.0..=1.0).contains(&s) {
                return Err(PyValueError::new_err(format!(
                    "min_score must be between 0 and 1, got {s}"
                )));
            }
            builder = builder.min_score(s as f32);
        }
        let choice = |name: &str, obj: Option<&Bound<'_, PyAny>>| -> PyResult<Option<String>> {
            match obj.filter(|o| !o.is_none()) {
                None => Ok(None),
                Some(o) => match o.cast::<PyString>() {
                    Ok(s) => Ok(Some(s.to_cow()?.into_owned())),
                    Err(_) => Err(PyTypeError::new_err(format!(
                        "{name} must be a str, not {}",
                        type_name(o)
                    ))),
                },
            }
        };
        if let Some(a) = choice("aggregation", aggregation)? {
            builder = builder.aggregation(a.parse::<Aggregation>().map_err(to_py)?);
        }
        if let Some(d) = choice("decoding", decoding)? {
            builder = builder.decoding(d.parse::<Decoding>().map_err(to_py)?);
        }
        if let Some(obj) = reference_date.filter(|o| !o.is_none()) {
            builder = builder.reference_date(self::reference_date(obj)?);
        }
        if let Some(p) = choice("precision", precision)? {
            builder = builder.precision(p.parse::<Precision>().map_err(PyValueError::new_err)?);
        }
        let wanted = labels.filter(|o| !o.is_none()).map(label_set).transpose()?;
        if let Some(w) = &wanted {
            builder = builder.labels(w.iter().cloned());
        }
        let pool = match threads {
            Some(n) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("arabic-ner-{i}"))
                    .build()
                    .map_err(|e| PyOSError::new_err(format!("cannot start {n} threads: {e}")))?,
            )),
            None => None,
        };
        let inner = py.detach(|| guarded("loading the model", || builder.build()))?;
        let threads = pool
            .as_ref()
            .map(|p| p.current_num_threads())
            .unwrap_or_else(rayon::current_num_threads);
        Ok(Tagger {
            inner: Arc::new(inner),
            pool,
            threads,
            model: model.unwrap_or_else(|| "<built-in>".into()),
        })
    }

    /// Entities of one text, in order of position.
    fn tag<'py>(&self, py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let text = text_of(text, &|| "text".into())?;
        let mut out = self.run(py, std::slice::from_ref(&text))?;
        entity_list(py, out.pop().unwrap_or_default())
    }

    /// Entities of each of several texts (any iterable of str), run through
    /// the model together; Ctrl-C stops between chunks of texts.
    fn tag_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "tag_batch takes an iterable of str, not one str (use tag)",
            ));
        }
        let iter = texts.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "tag_batch takes an iterable of str, not {}",
                type_name(texts)
            ))
        })?;
        let out = PyList::empty(py);
        let mut pending: Vec<String> = Vec::new();
        let mut bytes = 0;
        let flush = |pending: &mut Vec<String>| -> PyResult<()> {
            let results = self.run(py, pending)?;
            pending.clear();
            for entities in results {
                out.append(entity_list(py, entities)?)?;
            }
            py.check_signals()
        };
        for (i, item) in iter.enumerate() {
            let text = text_of(&item?, &|| format!("texts[{i}]"))?;
            bytes += text.len();
            pending.push(text);
            if bytes >= CHUNK_BYTES || pending.len() >= CHUNK_DOCS {
                flush(&mut pending)?;
                bytes = 0;
            }
        }
        if !pending.is_empty() {
            flush(&mut pending)?;
        }
        Ok(out)
    }

    /// Entity types the model finds (`["DATE", "LOC", ...]`).
    #[getter]
    fn entity_types(&self) -> Vec<String> {
        self.inner.entity_types().into_iter().collect()
    }

    /// Threads the tagger runs on.
    #[getter]
    fn threads(&self) -> usize {
        self.threads
    }

    /// The model folder the tagger was loaded from.
    #[getter]
    fn model_dir(&self) -> String {
        self.inner.model().dir.display().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Tagger(model={}, threads={})",
            py_str(&self.model),
            self.threads
        )
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Tagger>()?;
    m.add_class::<Entity>()?;
    m.add_class::<DateValue>()?;
    m.add("ModelError", m.py().get_type::<ModelError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
