//! PostgreSQL's `oid[]` in its text form (`{1,2}`): how a list of oids is
//! sent as a parameter and read back from a column. Pure.

/// The text of an `oid[]` holding `oids`, in their order.
pub fn array<'a>(oids: impl IntoIterator<Item = &'a u32>) -> String {
    let list: Vec<String> = oids.into_iter().map(u32::to_string).collect();
    format!("{{{}}}", list.join(","))
}

/// The oids of an `oid[]`'s text; anything that is not an oid is skipped.
pub fn parse(text: &str) -> Vec<u32> {
    text.trim_matches(|c| c == '{' || c == '}').split(',').filter_map(|o| o.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_arrays_are_read_from_their_text() {
        assert_eq!(parse("{}"), Vec::<u32>::new());
        assert_eq!(parse("{16385}"), vec![16385]);
        assert_eq!(parse("{16385,4294967295}"), vec![16385, u32::MAX]);
    }

    #[test]
    fn an_array_reads_back_as_written() {
        assert_eq!(array(&[]), "{}");
        assert_eq!(array(&[16385, u32::MAX]), "{16385,4294967295}");
        assert_eq!(parse(&array(&[1, 2, 3])), [1, 2, 3]);
    }
}
