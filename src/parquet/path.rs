//! Where a row's text is in a table: a column, or a field below one, reached by a JSON
//! Pointer through structs and, with one `*`, the elements of a list, as `--text-field`
//! reaches into JSONL records (`/段落/*/内容` in MNBVC's layout as Parquet). A path that
//! ends at a list of strings needs no `*`: the strings are the paragraphs.
//!
//! Reading gives a row's text or its paragraphs; writing rebuilds the column of the kept
//! rows with the kept text in place and, for paragraphs, only the kept elements, each
//! otherwise as it was.

use super::{is_binary, list_items, value, Kept};
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BinaryArray, GenericListArray, OffsetSizeTrait, StringArray, StructArray,
    UInt64Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Schema};
use std::sync::Arc;

/// A resolved `--text-field` of a Parquet file.
#[derive(Debug, Clone)]
pub struct TextPath {
    /// The pointer's keys, or the column's name alone.
    keys: Vec<String>,
    /// Whether `--text-field` was a JSON Pointer (errors name fields the same way).
    pointer: bool,
    /// Which key is the `*`, if one is.
    star: Option<usize>,
    /// The top-level column.
    pub column: usize,
    /// Struct fields from the column down to the text, or to the list of paragraphs.
    before: Vec<usize>,
    /// For paragraphs: struct fields from each element of the list down to its string.
    after: Option<Vec<usize>>,
}

fn is_string(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

impl TextPath {
    /// Finds `text_field` (a column name, or a JSON Pointer starting with `/`) in `schema`.
    pub fn resolve(schema: &Schema, text_field: &str) -> Result<TextPath, String> {
        let (keys, pointer) = match crate::jsonl::pointer_keys(text_field) {
            Some(keys) => (keys?, true),
            None => (vec![text_field.to_string()], false),
        };
        let column = schema.index_of(&keys[0]).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            format!(
                "no column \"{}\" (columns: {}; choose one with --text-field)",
                keys[0],
                names.join(", ")
            )
        })?;
        let mut path = TextPath {
            keys,
            pointer,
            star: None,
            column,
            before: Vec::new(),
            after: None,
        };
        let mut ty = schema.field(column).data_type();
        for n in 1..path.keys.len() {
            let key = &path.keys[n];
            match ty {
                DataType::Struct(fields) => {
                    let Some((k, field)) = fields.find(key) else {
                        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
                        return Err(format!(
                            "{} has no field \"{key}\" (its fields: {})",
                            path.named(n, None),
                            names.join(", ")
                        ));
                    };
                    path.after.as_mut().unwrap_or(&mut path.before).push(k);
                    ty = field.data_type();
                }
                DataType::List(item) | DataType::LargeList(item)
                    if key == "*" && path.after.is_none() =>
                {
                    path.after = Some(Vec::new());
                    path.star = Some(n);
                    ty = item.data_type();
                }
                DataType::List(_) | DataType::LargeList(_) => {
                    return Err(format!(
                        "{} is a list: a * reaches its elements (one * a pointer)",
                        path.named(n, None)
                    ))
                }
                _ => {
                    return Err(format!(
                        "{} holds {ty}: a pointer reaches a struct's fields and a list's elements",
                        path.named(n, None)
                    ))
                }
            }
        }
        let fits = match (&path.after, ty) {
            (Some(_), ty) => is_string(ty),
            (None, DataType::List(item) | DataType::LargeList(item))
                if is_string(item.data_type()) =>
            {
                // A list of strings: its strings are the paragraphs.
                path.after = Some(Vec::new());
                true
            }
            (None, ty) if is_string(ty) || is_binary(ty) => true,
            // A dictionary-encoded column is read as its values (see `Reader::plain`).
            (None, DataType::Dictionary(_, values)) => {
                path.before.is_empty() && (is_string(values) || is_binary(values))
            }
            _ => false,
        };
        if !fits {
            return Err(format!(
                "{} holds {ty}, not text or a list of strings (choose one with --text-field)",
                path.name(None)
            ));
        }
        Ok(path)
    }

    /// Whether each row's text is a list of paragraphs.
    pub fn is_list(&self) -> bool {
        self.after.is_some()
    }

    /// The text's name in errors, for element `element` of a list.
    pub fn name(&self, element: Option<usize>) -> String {
        self.named(self.keys.len(), element)
    }

    /// The name of the first `n` keys' field: `column "text"` (with ` element 3`), or
    /// the pointer, `field "/段落/3/内容"`.
    fn named(&self, n: usize, element: Option<usize>) -> String {
        if !self.pointer {
            return match element {
                Some(j) => format!("column \"{}\" element {j}", self.keys[0]),
                None => format!("column \"{}\"", self.keys[0]),
            };
        }
        let mut name = String::new();
        for (m, key) in self.keys[..n].iter().enumerate() {
            name.push('/');
            match element.filter(|_| self.star == Some(m)) {
                Some(j) => name.push_str(&j.to_string()),
                None => name.push_str(&key.replace('~', "~0").replace('/', "~1")),
            }
        }
        match (element, self.star) {
            // A list of strings reached with no `*`.
            (Some(j), None) => format!("field \"{name}\" element {j}"),
            _ => format!("field \"{name}\""),
        }
    }

    /// Row `i`'s text in `col` (the path's column of a batch), for a path to one string.
    pub fn text<'a>(&self, col: &'a ArrayRef, i: usize) -> Result<&'a [u8], String> {
        let leaf = self.down(col, &self.before, i, None)?;
        value(leaf.as_ref(), i).ok_or_else(|| format!("{} is null", self.name(None)))
    }

    /// Row `i`'s paragraphs in `col`, each given to `each` with its element's index, for
    /// a path to a list.
    pub fn paragraphs(
        &self,
        col: &ArrayRef,
        i: usize,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let after = self.after.as_deref().unwrap_or_default();
        let list = self.down(col, &self.before, i, None)?;
        let items =
            list_items(list.as_ref(), i).ok_or_else(|| format!("{} is null", self.name(None)))?;
        for j in 0..items.len() {
            let leaf = self.down(&items, after, j, Some(j))?;
            let text =
                value(leaf.as_ref(), j).ok_or_else(|| format!("{} is null", self.name(Some(j))))?;
            each(j, text)?;
        }
        Ok(())
    }

    /// The array `fields` below `array` (each a struct's field), none null at `i`.
    fn down<'a>(
        &self,
        mut array: &'a ArrayRef,
        fields: &[usize],
        i: usize,
        element: Option<usize>,
    ) -> Result<&'a ArrayRef, String> {
        for &k in fields {
            if array.is_null(i) {
                break;
            }
            array = array.as_struct().column(k);
        }
        match array.is_null(i) {
            true => Err(format!("{} is null", self.name(element))),
            false => Ok(array),
        }
    }

    /// `col`, the path's column of the kept rows, with their text set to `rows[k]` for
    /// kept row `k` (`None`: as it was), and the bytes of text in it.
    pub fn rebuild(
        &self,
        col: &ArrayRef,
        rows: &[Option<&Kept>],
    ) -> Result<(ArrayRef, u64), String> {
        let mut bytes = 0;
        let built = replace(col, &self.before, &mut |target| match &self.after {
            None => {
                let mut new = Vec::with_capacity(rows.len());
                for (k, row) in rows.iter().enumerate() {
                    new.push(match row {
                        Some(Kept::Text(t)) => Some(t.as_bytes()),
                        Some(Kept::Paragraphs(_)) => {
                            return Err(format!("{}: paragraphs for a string", self.name(None)))
                        }
                        None => value(target.as_ref(), k),
                    });
                }
                strings(&new, target.data_type(), &mut bytes)
            }
            Some(after) => match target.data_type() {
                DataType::LargeList(_) => {
                    kept_elements(target.as_list::<i64>(), rows, after, &mut bytes)
                }
                _ => kept_elements(target.as_list::<i32>(), rows, after, &mut bytes),
            },
        })?;
        Ok((built, bytes))
    }
}

/// `array` with the array `fields` below it (each a struct's field) replaced by what
/// `with` makes of it; the structs on the way keep their other fields and nulls.
fn replace(
    array: &ArrayRef,
    fields: &[usize],
    with: &mut dyn FnMut(&ArrayRef) -> Result<ArrayRef, String>,
) -> Result<ArrayRef, String> {
    let Some((&k, rest)) = fields.split_first() else {
        return with(array);
    };
    let s = array.as_struct();
    let mut columns = s.columns().to_vec();
    columns[k] = replace(&columns[k], rest, with)?;
    let built = StructArray::try_new(s.fields().clone(), columns, s.nulls().cloned())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(built))
}

/// `new` as an array of type `ty` (a string or binary type), its bytes added to `bytes`.
fn strings(new: &[Option<&[u8]>], ty: &DataType, bytes: &mut u64) -> Result<ArrayRef, String> {
    *bytes += new
        .iter()
        .map(|b| b.map_or(0, <[u8]>::len) as u64)
        .sum::<u64>();
    let built: ArrayRef = if is_binary(ty) {
        Arc::new(BinaryArray::from_iter(new.iter().copied()))
    } else {
        // Only the strings of rows kept as they were come from the input, and a string
        // type's are UTF-8.
        Arc::new(StringArray::from_iter(
            new.iter()
                .map(|b| b.map(|b| std::str::from_utf8(b).unwrap_or_default())),
        ))
    };
    match built.data_type() == ty {
        true => Ok(built),
        false => arrow_cast::cast(&built, ty).map_err(|e| e.to_string()),
    }
}

/// `list` (of the kept rows) holding, for each row given paragraphs, only the kept
/// elements with their text set (`after`: the fields from an element down to it), and
/// every element as it was for a row given `None`.
fn kept_elements<O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
    rows: &[Option<&Kept>],
    after: &[usize],
    bytes: &mut u64,
) -> Result<ArrayRef, String> {
    let offsets = list.value_offsets();
    let (mut take, mut texts, mut lens) = (Vec::new(), Vec::new(), Vec::new());
    for (k, row) in rows.iter().enumerate() {
        let start = offsets[k].as_usize();
        let before = take.len();
        match row {
            Some(Kept::Paragraphs(kept)) => {
                for (j, text) in kept {
                    take.push((start + j) as u64);
                    texts.push(Some(text.as_bytes()));
                }
            }
            Some(Kept::Text(_)) => return Err("a string for a list of paragraphs".into()),
            None => {
                for e in start..offsets[k + 1].as_usize() {
                    take.push(e as u64);
                    texts.push(None);
                }
            }
        }
        lens.push(take.len() - before);
    }
    let values = arrow_select::take::take(list.values(), &UInt64Array::from(take), None)
        .map_err(|e| e.to_string())?;
    let values = replace(&values, after, &mut |leaf| {
        let new: Vec<Option<&[u8]>> = (texts.iter().enumerate())
            .map(|(e, t)| t.or_else(|| value(leaf.as_ref(), e)))
            .collect();
        strings(&new, leaf.data_type(), bytes)
    })?;
    let field = match list.data_type() {
        DataType::List(f) | DataType::LargeList(f) => Arc::clone(f),
        other => return Err(format!("not a list: {other}")),
    };
    let built = GenericListArray::<O>::try_new(
        field,
        OffsetBuffer::from_lengths(lens),
        values,
        list.nulls().cloned(),
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(built))
}
