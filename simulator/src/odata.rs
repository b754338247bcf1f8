//! The small part of OData the simulator understands: `$filter` expressions (comparisons,
//! `and`/`or`/`not`, parentheses, `startswith`), `$select`, and `$skiptoken` next links.

use serde_json::{Map, Value};

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// `'text'`
    Str(String),
    /// `42`, `1.5`
    Num(f64),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// Anything else unquoted (e.g. `2026-01-01T00:00:00Z`).
    Raw(String),
}

/// A parsed `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `field op literal`
    Cmp(String, Op, Lit),
    /// `startswith(field, 'prefix')`
    StartsWith(String, String),
    /// `field in ('a', 'b')`
    In(String, Vec<Lit>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Str(String),
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Tok::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    _ => Err("expected ')'".into()),
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("startswith") => {
                let (
                    Some(Tok::Open),
                    Some(Tok::Word(f)),
                    Some(Tok::Comma),
                    Some(Tok::Str(v)),
                    Some(Tok::Close),
                ) = (
                    self.next(),
                    self.next(),
                    self.next(),
                    self.next(),
                    self.next(),
                )
                else {
                    return Err("malformed startswith".into());
                };
                Ok(Expr::StartsWith(f, v))
            }
            Some(Tok::Word(field)) if self.peek_word("in") => {
                self.pos += 1;
                if self.next() != Some(Tok::Open) {
                    return Err(format!("expected '(' after '{field} in'"));
                }
                let mut values = Vec::new();
                loop {
                    match self.next() {
                        Some(Tok::Str(v)) => values.push(Lit::Str(v)),
                        Some(Tok::Word(w)) => {
                            values.push(w.parse::<f64>().map(Lit::Num).unwrap_or(Lit::Raw(w)))
                        }
                        _ => return Err(format!("expected a value in '{field} in (…)'")),
                    }
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::Close) => break,
                        _ => return Err(format!("expected ',' or ')' in '{field} in (…)'")),
                    }
                }
                Ok(Expr::In(field, values))
            }
            Some(Tok::Word(field)) => {
                let op = match self.next() {
                    Some(Tok::Word(o)) => match o.to_ascii_lowercase().as_str() {
                        "eq" => Op::Eq,
                        "ne" => Op::Ne,
                        "lt" => Op::Lt,
                        "le" => Op::Le,
                        "gt" => Op::Gt,
                        "ge" => Op::Ge,
                        other => return Err(format!("unsupported operator '{other}'")),
                    },
                    _ => return Err(format!("expected an operator after '{field}'")),
                };
                let lit = match self.next() {
                    Some(Tok::Str(s)) => Lit::Str(s),
                    Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Lit::Bool(true),
                        "false" => Lit::Bool(false),
                        "null" => Lit::Null,
                        _ => w.parse::<f64>().map(Lit::Num).unwrap_or(Lit::Raw(w)),
                    },
                    _ => return Err(format!("expected a value after '{field}'")),
                };
                Ok(Expr::Cmp(field, op, lit))
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

/// Parses a `$filter` expression.
pub fn parse_filter(s: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokenize(s)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err("unexpected trailing input".into());
    }
    Ok(e)
}

/// Compares a JSON value with a literal (strings case-insensitively, as Graph does).
pub fn compare(v: Option<&Value>, op: Op, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (None | Some(Value::Null), Lit::Null) => Some(Ordering::Equal),
        (None | Some(Value::Null), _) | (Some(_), Lit::Null) => {
            return op == Op::Ne;
        }
        (Some(Value::String(a)), Lit::Str(b) | Lit::Raw(b)) => {
            Some(a.to_lowercase().cmp(&b.to_lowercase()))
        }
        (Some(Value::Number(a)), Lit::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Some(Value::Bool(a)), Lit::Bool(b)) => Some(a.cmp(b)),
        (Some(Value::String(a)), Lit::Num(b)) => {
            a.parse::<f64>().ok().and_then(|a| a.partial_cmp(b))
        }
        _ => None,
    };
    match ord {
        None => op == Op::Ne,
        Some(o) => match op {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
        },
    }
}

/// Evaluates `e` with `get` resolving field names to values.
pub fn eval(e: &Expr, get: &dyn Fn(&str) -> Option<Value>) -> bool {
    match e {
        Expr::And(a, b) => eval(a, get) && eval(b, get),
        Expr::Or(a, b) => eval(a, get) || eval(b, get),
        Expr::Not(a) => !eval(a, get),
        Expr::Cmp(f, op, lit) => compare(get(f).as_ref(), *op, lit),
        Expr::StartsWith(f, p) => {
            matches!(get(f), Some(Value::String(s)) if s.to_lowercase().starts_with(&p.to_lowercase()))
        }
        Expr::In(f, values) => {
            let v = get(f);
            values.iter().any(|lit| compare(v.as_ref(), Op::Eq, lit))
        }
    }
}

/// Every field an expression references.
pub fn fields(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            fields(a, out);
            fields(b, out)
        }
        Expr::Not(a) => fields(a, out),
        Expr::Cmp(f, _, _) | Expr::StartsWith(f, _) | Expr::In(f, _) => out.push(f.clone()),
    }
}

/// Splits `$select=a,b` into names (empty when absent).
pub fn select_list(select: Option<String>) -> Vec<String> {
    select
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Keeps only the selected properties (case-insensitive) plus any `@odata.*` annotations.
pub fn apply_select(obj: Map<String, Value>, select: &[String]) -> Map<String, Value> {
    if select.is_empty() {
        return obj;
    }
    obj.into_iter()
        .filter(|(k, _)| k.starts_with('@') || select.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .collect()
}

/// Builds a next link from the request's path and query with `$skiptoken` replaced.
pub fn next_link(root: &str, rel_path: &str, params: &[(String, String)], token: &str) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if !k.trim_start_matches('$').eq_ignore_ascii_case("skiptoken") {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("$skiptoken", token);
    format!("{root}{rel_path}?{}", ser.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_evaluates_registration_filters() {
        let e = parse_filter(
            "isMfaRegistered eq false and (userPrincipalName eq 'A@x.com' or id eq '1')",
        )
        .unwrap();
        let row = json!({"isMfaRegistered": false, "userPrincipalName": "a@x.com", "id": "2"});
        assert!(eval(&e, &|f| row.get(f).cloned()));
        let e = parse_filter("fields/TrackingToken eq 'it''s'").unwrap();
        assert_eq!(
            e,
            Expr::Cmp(
                "fields/TrackingToken".into(),
                Op::Eq,
                Lit::Str("it's".into())
            )
        );
        assert!(parse_filter("a eq").is_err());
        assert!(parse_filter("a like 'x'").is_err());
    }
}
