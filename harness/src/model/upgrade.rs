//! Reading results written by older versions: schema 1 had string-typed targets, the scenario
//! beside the load, and probes that named their target by id only. The upgrade reshapes the JSON;
//! the typed deserialization that follows checks every value as for a new file.

use std::collections::BTreeMap;

use authbench_targets::spec::TargetSpec;
use serde_json::{json, Map, Value};

/// The first schema, upgraded on read.
pub const V1: &str = "authbench.results/1";

/// A version 1 target as a version 2 spec: nulls dropped, no algorithm on session targets.
fn spec_fields(target: &Value) -> Value {
    let mut out = Map::new();
    for key in ["strategy", "store", "denylist", "alg", "transport"] {
        if let Some(v) = target.get(key).filter(|v| !v.is_null()) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    if out.get("strategy") == Some(&json!("session")) {
        out.remove("alg");
    }
    for (name, field) in
        [("token", "token_ttl"), ("access", "access_ttl"), ("refresh", "refresh_ttl"), ("session", "session_ttl")]
    {
        let ttl = target.get("ttls").and_then(|t| t.get(name)).or_else(|| target.get(field));
        if let Some(v) = ttl.filter(|v| !v.is_null()) {
            out.insert(field.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

fn each(doc: &mut Value, key: &str, f: impl FnMut(&mut Value)) {
    if let Some(items) = doc.get_mut(key).and_then(Value::as_array_mut) {
        items.iter_mut().for_each(f);
    }
}

/// Rewrites a version 1 document in place into version 2's shape.
pub fn v1_to_v2(doc: &mut Value) {
    doc["schema"] = json!(super::results::SCHEMA);
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(matrix) = doc.get_mut("config").and_then(|c| c.get_mut("matrix")) {
        each(matrix, "target", |t| {
            *t = spec_fields(t);
            if let Ok(spec) = serde_json::from_value::<TargetSpec>(t.clone()) {
                by_id.insert(spec.id(), t.clone());
            }
        });
    }
    each(doc, "cases", |c| {
        let spec = spec_fields(&c["target"]);
        let id = c["target"]["id"].clone();
        by_id.entry(id.as_str().unwrap_or_default().to_owned()).or_insert_with(|| spec.clone());
        c["target"] = json!({ "id": id, "spec": spec });
        let load = c["load"].take();
        c["warmup_s"] = load["warmup_s"].clone();
        c["duration_s"] = load["duration_s"].clone();
        c["load"] = json!({
            "scenario": c["scenario"].take(),
            "model": load["model"],
            "users": load["users"],
            "rate_rps": load["rate_rps"],
        });
        if let Some(o) = c.as_object_mut() {
            o.remove("scenario");
        }
    });
    each(doc, "probes", |p| {
        let id = p["target"].as_str().unwrap_or_default().to_owned();
        let spec = by_id.get(&id).cloned().unwrap_or(Value::Null);
        p["target"] = json!({ "id": id, "spec": spec });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_case_and_probe_become_typed() {
        let mut doc = json!({
            "schema": V1,
            "config": { "matrix": { "target": [
                { "strategy": "session", "store": "redis", "denylist": null, "alg": "HS256", "transport": "bearer",
                  "token_ttl": null, "access_ttl": null, "refresh_ttl": null, "session_ttl": null }
            ] } },
            "cases": [{
                "target": { "id": "hybrid-redis-HS256-access5s", "strategy": "hybrid", "store": "redis", "denylist": null,
                            "alg": "HS256", "transport": "bearer",
                            "ttls": { "token": "7d", "access": "5s", "refresh": "30d", "session": "7d" } },
                "scenario": "refresh",
                "load": { "model": "closed", "users": 32, "rate_rps": null, "duration_s": 8.0, "warmup_s": 2.0 }
            }],
            "probes": [{ "target": "session-redis" }]
        });
        v1_to_v2(&mut doc);
        let spec: TargetSpec = serde_json::from_value(doc["cases"][0]["target"]["spec"].clone()).unwrap();
        assert_eq!(spec.id(), "hybrid-redis-HS256-access5s");
        let load: crate::model::matrix::LoadSpec = serde_json::from_value(doc["cases"][0]["load"].clone()).unwrap();
        assert_eq!(load.id(), "refresh-closed-32u");
        assert_eq!(doc["cases"][0]["warmup_s"], json!(2.0));
        let probe: TargetSpec = serde_json::from_value(doc["probes"][0]["target"]["spec"].clone()).unwrap();
        assert_eq!(probe.id(), "session-redis");
    }
}
