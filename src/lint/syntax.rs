//! Small helpers over squawk's syntax tree: spans, names as PostgreSQL
//! folds them, and finding nodes by kind.

use squawk_syntax::{SyntaxKind, SyntaxNode, SyntaxToken};

/// A schema-qualified name; unqualified names are taken to be in `public`
/// (the default search_path's first schema).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QName {
    pub schema: String,
    pub name: String,
}

impl std::fmt::Display for QName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Byte range of a node without its leading comments and whitespace.
pub fn span(node: &SyntaxNode) -> (usize, usize) {
    let range = node.text_range();
    let start = node
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .find(|t| !t.kind().is_trivia())
        .map(|t| t.text_range().start())
        .unwrap_or(range.start());
    (usize::from(start), usize::from(range.end()))
}

/// An identifier as PostgreSQL folds it: quoted keeps its case, else lower case.
pub fn ident(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => text.to_lowercase(),
    }
}

/// The name a node spells (`schema.name`, `"Name"`), from its tokens.
pub fn qname(node: &SyntaxNode) -> QName {
    let parts = name_parts(node);
    match parts.as_slice() {
        [] => QName { schema: "public".into(), name: String::new() },
        [name] => QName { schema: "public".into(), name: name.clone() },
        [.., schema, name] => QName { schema: schema.clone(), name: name.clone() },
    }
}

/// The dot-separated parts of a name node.
pub fn name_parts(node: &SyntaxNode) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for t in tokens(node) {
        if t.kind() == SyntaxKind::DOT {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push_str(&ident(t.text()));
        }
    }
    parts.push(current);
    parts
}

/// Non-trivia tokens of a node.
pub fn tokens(node: &SyntaxNode) -> impl Iterator<Item = SyntaxToken> {
    node.descendants_with_tokens().filter_map(|e| e.into_token()).filter(|t| !t.kind().is_trivia())
}

pub fn has_token(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    tokens(node).any(|t| t.kind() == kind)
}

pub fn child(node: &SyntaxNode, kind: SyntaxKind) -> Option<SyntaxNode> {
    node.children().find(|c| c.kind() == kind)
}

pub fn descendant(node: &SyntaxNode, kind: SyntaxKind) -> Option<SyntaxNode> {
    node.descendants().find(|c| c.kind() == kind)
}

/// The name of the function a CALL_EXPR calls, as `schema.name` or `name`.
pub fn called(call: &SyntaxNode) -> Option<String> {
    let callee = call.children().find(|c| c.kind() != SyntaxKind::ARG_LIST)?;
    Some(name_parts(&callee).join("."))
}

/// The text of a string literal token, unquoted (None for other tokens).
pub fn string_value(token: &SyntaxToken) -> Option<String> {
    let t = token.text();
    match token.kind() {
        SyntaxKind::STRING => Some(t.strip_prefix('\'')?.strip_suffix('\'')?.replace("''", "'")),
        SyntaxKind::ESC_STRING => Some(t.get(2..t.len().checked_sub(1)?)?.to_string()),
        SyntaxKind::DOLLAR_QUOTED_STRING => {
            let tag_end = t[1..].find('$')? + 2;
            Some(t.get(tag_end..t.len().checked_sub(tag_end)?)?.to_string())
        }
        _ => None,
    }
}
