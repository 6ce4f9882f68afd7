//! A strict reader of the Prometheus text exposition format (version 0.0.4), so tests can
//! tell that `/metrics` is something Prometheus will scrape, and look at its samples.

use std::collections::{BTreeMap, HashMap};

/// One sample line: `name{label="value",…} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// What a scrape holds: every sample, and each family's declared `# TYPE`.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: HashMap<String, String>,
}

impl Exposition {
    /// The samples of metric `name` (exactly that name: `_bucket`, `_sum`… are their own).
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |sample| sample.name == name)
    }

    /// Whether any sample of family `name` exists (a histogram's `_bucket`, `_sum` and
    /// `_count` samples belong to its family).
    pub fn has_family(&self, name: &str) -> bool {
        self.samples
            .iter()
            .any(|sample| family(&sample.name, &self.types) == name)
    }
}

/// Parses `text`; an error names the line and what is wrong with it.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fail = |why: &str| format!("line {number}: {why}: `{line}`");
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            match words.next() {
                Some("TYPE") => {
                    let name = words.next().ok_or_else(|| fail("TYPE without a name"))?;
                    let kind = words.next().ok_or_else(|| fail("TYPE without a type"))?;
                    if !valid_name(name) {
                        return Err(fail("invalid metric name"));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(fail("unknown type"));
                    }
                    if exposition
                        .types
                        .insert(name.to_owned(), kind.to_owned())
                        .is_some()
                    {
                        return Err(fail("a second TYPE for the same metric"));
                    }
                }
                Some("HELP") => {
                    let name = words.next().ok_or_else(|| fail("HELP without a name"))?;
                    if !valid_name(name) {
                        return Err(fail("invalid metric name"));
                    }
                }
                _ => {} // any other comment
            }
            continue;
        }
        exposition
            .samples
            .push(sample(line).map_err(|why| fail(&why))?);
    }
    for sample in &exposition.samples {
        let kind = exposition
            .types
            .get(family(&sample.name, &exposition.types));
        if kind.is_some_and(|kind| kind == "histogram")
            && sample.name.ends_with("_bucket")
            && !sample.labels.contains_key("le")
        {
            return Err(format!("{}: a histogram bucket without `le`", sample.name));
        }
    }
    Ok(exposition)
}

/// The family a sample belongs to: its name without a histogram's or summary's suffix.
fn family<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types
                .get(base)
                .is_some_and(|kind| kind == "histogram" || kind == "summary")
        {
            return base;
        }
    }
    name
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("invalid metric name".to_owned());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(inner)?;
        labels = parsed;
        rest = after;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number
            .parse::<f64>()
            .map_err(|_| format!("`{number}` is not a number"))?,
    };
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("`{timestamp}` is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("unexpected text after the value".to_owned());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `name="value",…}` and returns the labels and what follows the `}`.
fn label_set(mut text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        let equals = text.find('=').ok_or("a label without `=`")?;
        let name = text[..equals].trim();
        if !valid_label_name(name) {
            return Err(format!("invalid label name `{name}`"));
        }
        let mut chars = text[equals + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err(format!("the value of `{name}` is not quoted"));
        }
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (offset, c) in chars {
            match (escaped, c) {
                (true, 'n') => value.push('\n'),
                (true, '\\' | '"') => value.push(c),
                (true, other) => return Err(format!("invalid escape `\\{other}`")),
                (false, '\\') => {
                    escaped = true;
                    continue;
                }
                (false, '"') => {
                    end = Some(equals + 1 + offset + 1);
                    break;
                }
                (false, other) => value.push(other),
            }
            escaped = false;
        }
        let end = end.ok_or_else(|| format!("the value of `{name}` is not closed"))?;
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label `{name}` twice"));
        }
        text = text[end..].trim_start();
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_scrape_parses() {
        let text = "# HELP http_server_requests_total Requests.\n\
            # TYPE http_server_requests_total counter\n\
            http_server_requests_total{method=\"GET\",route=\"/v1/a \\\"b\\\"\",status=\"200\"} 3\n\
            # TYPE outbox_lag_seconds gauge\n\
            outbox_lag_seconds 0.25\n\
            # TYPE d_seconds histogram\n\
            d_seconds_bucket{le=\"0.1\"} 1\n\
            d_seconds_bucket{le=\"+Inf\"} 2\n\
            d_seconds_sum 0.3\n\
            d_seconds_count 2\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.samples.len(), 6);
        let requests = parsed.named("http_server_requests_total").next().unwrap();
        assert_eq!(requests.labels["route"], "/v1/a \"b\"");
        assert_eq!(requests.value, 3.0);
        assert!(parsed.has_family("d_seconds"));
        assert!(parsed.has_family("outbox_lag_seconds"));
        assert!(!parsed.has_family("d"));
    }

    #[test]
    fn broken_lines_are_named() {
        for broken in [
            "metric{a=\"1\" 2",
            "metric{a=1} 2",
            "metric one",
            "9metric 1",
            "metric{a=\"x\",a=\"y\"} 1",
            "# TYPE metric kind",
            "metric 1 2 3",
        ] {
            let error = parse(broken).unwrap_err();
            assert!(error.starts_with("line 1:"), "{broken}: {error}");
        }
    }
}
