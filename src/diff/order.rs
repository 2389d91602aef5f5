//! Statement order: a node (an object's statements) comes after every node
//! it depends on; among nodes free to go, by class rank, then by name, so a
//! plan is the same every time. A cycle (which pg_depend should not have)
//! is broken by rank rather than lost.

use std::collections::{BTreeMap, BTreeSet};

/// Order `nodes` (key → rank) so that for each `(dependent, referenced)`
/// edge between two of them, `referenced` comes first.
pub fn sort(nodes: &BTreeMap<String, u8>, edges: &BTreeSet<(String, String)>) -> Vec<String> {
    let mut waiting: BTreeMap<&str, usize> = nodes.keys().map(|k| (k.as_str(), 0)).collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (dep, r) in edges {
        if dep != r && nodes.contains_key(dep) && nodes.contains_key(r) {
            *waiting.get_mut(dep.as_str()).expect("a node") += 1;
            dependents.entry(r.as_str()).or_default().push(dep.as_str());
        }
    }
    let mut ready: BTreeSet<(u8, &str)> =
        waiting.iter().filter(|(_, n)| **n == 0).map(|(k, _)| (nodes[*k], *k)).collect();
    let mut out = Vec::with_capacity(nodes.len());
    let mut done = BTreeSet::new();
    while out.len() < nodes.len() {
        let next = match ready.pop_first() {
            Some((_, k)) => k,
            // A cycle: the lowest-ranked node still waiting goes first.
            None => {
                let (_, k) =
                    waiting.keys().filter(|k| !done.contains(*k)).map(|k| (nodes[*k], *k)).min().expect("a node left");
                k
            }
        };
        if !done.insert(next) {
            continue;
        }
        out.push(next.to_string());
        for d in dependents.get(next).into_iter().flatten() {
            let n = waiting.get_mut(d).expect("a node");
            *n = n.saturating_sub(1);
            if *n == 0 && !done.contains(d) {
                ready.insert((nodes[*d], d));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(list: &[(&str, u8)]) -> BTreeMap<String, u8> {
        list.iter().map(|(k, r)| (k.to_string(), *r)).collect()
    }
    fn edges(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn dependencies_before_rank() {
        // A view on a view: the referenced one first although it sorts later by name.
        let n = nodes(&[("view b", 6), ("view a", 6), ("table t", 4)]);
        let e = edges(&[("view a", "view b"), ("view b", "table t")]);
        assert_eq!(sort(&n, &e), ["table t", "view b", "view a"]);
    }

    #[test]
    fn rank_orders_the_free_ones() {
        let n = nodes(&[("index i", 9), ("table t", 4), ("schema s", 0)]);
        assert_eq!(sort(&n, &BTreeSet::new()), ["schema s", "table t", "index i"]);
    }

    #[test]
    fn a_cycle_loses_nothing() {
        let n = nodes(&[("function f", 5), ("function g", 5)]);
        let e = edges(&[("function f", "function g"), ("function g", "function f")]);
        assert_eq!(sort(&n, &e).len(), 2);
    }
}
