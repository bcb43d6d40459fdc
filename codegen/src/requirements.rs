//! What the hand-written wrapper of `s2-openapi` needs from a spec.
//!
//! The wrapper (the client, basins, retries, errors, lists, live reads and
//! writes) reads S2's errors as the spec's `ErrorInfo { code, message }`,
//! whatever operations the spec has. Revoking access tokens (the revoke
//! methods, bulk revocation, `s2-revoke` and the local server) needs the
//! spec's `revoke_access_token` besides. When a spec lacks either, the
//! build says so in one line rather than failing with type errors inside
//! the wrapper.

use serde_json::Value;

use crate::doc::resolve;

/// The operation the revoke methods, bulk revocation and `s2-revoke` call.
pub const REVOKE_OPERATION_ID: &str = "revoke_access_token";

/// Checks that `doc` (before or after lowering) has an `ErrorInfo` schema
/// with string `code` and `message` properties, both required: what the
/// wrapper reads S2's errors with. Returns what is missing otherwise.
pub fn check_wrapper_requirements(doc: &Value) -> Result<(), String> {
    let error_info = doc
        .pointer("/components/schemas/ErrorInfo")
        .ok_or("no `ErrorInfo` schema")?;
    let required = error_info.get("required").and_then(Value::as_array);
    for field in ["code", "message"] {
        let ty = error_info
            .pointer(&format!("/properties/{field}/type"))
            .and_then(Value::as_str);
        let is_required = required.is_some_and(|r| r.iter().any(|f| f == field));
        if ty != Some("string") || !is_required {
            return Err(format!(
                "`ErrorInfo` has no required string `{field}` property"
            ));
        }
    }
    Ok(())
}

/// Checks that `doc` (before or after lowering) has a `revoke_access_token`
/// operation `DELETE /access-tokens/{id}` with an `id` path parameter of
/// type `AccessTokenIdStr`, no success body, and every error body an
/// `ErrorInfo`. Returns what is missing otherwise.
pub fn check_revoke_requirements(doc: &Value) -> Result<(), String> {
    let op = doc
        .pointer("/paths/~1access-tokens~1{id}/delete")
        .ok_or("no `DELETE /access-tokens/{id}` operation")?;
    if op.get("operationId").and_then(Value::as_str) != Some(REVOKE_OPERATION_ID) {
        return Err(format!(
            "`DELETE /access-tokens/{{id}}` is not named `{REVOKE_OPERATION_ID}`"
        ));
    }
    // The operation's own parameters first, then its path's (which it
    // inherits), each possibly a `$ref` to a shared one.
    let path_item = doc.pointer("/paths/~1access-tokens~1{id}");
    let id_schema = [Some(op), path_item]
        .into_iter()
        .flatten()
        .filter_map(|holder| holder.get("parameters").and_then(Value::as_array))
        .flatten()
        .map(|p| resolve(doc, p))
        .find(|p| {
            p.get("name").and_then(Value::as_str) == Some("id")
                && p.get("in").and_then(Value::as_str) == Some("path")
        })
        .and_then(|p| p.pointer("/schema/$ref"))
        .and_then(Value::as_str);
    if id_schema != Some("#/components/schemas/AccessTokenIdStr") {
        return Err(
            "`revoke_access_token` has no `id` parameter of type `AccessTokenIdStr`".to_owned(),
        );
    }
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .ok_or("`revoke_access_token` has no responses")?;
    let mut has_success = false;
    for (status, response) in responses {
        let response = resolve(doc, response);
        let content = response.get("content").and_then(Value::as_object);
        if status.starts_with('2') {
            has_success = true;
            if content.is_some_and(|c| !c.is_empty()) {
                return Err(format!(
                    "`revoke_access_token` response {status} has a body; the wrapper expects none"
                ));
            }
        } else if let Some(content) = content {
            for media in content.values() {
                let reference = media.pointer("/schema/$ref").and_then(Value::as_str);
                if reference != Some("#/components/schemas/ErrorInfo") {
                    return Err(format!(
                        "`revoke_access_token` error {status} is not an `ErrorInfo`"
                    ));
                }
            }
        }
    }
    if !has_success {
        return Err("`revoke_access_token` has no success response".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({
            "paths": {"/access-tokens/{id}": {"delete": {
                "operationId": "revoke_access_token",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/AccessTokenIdStr"}}],
                "responses": {
                    "204": {"description": ""},
                    "400": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorInfo"}}}}
                }
            }}},
            "components": {"schemas": {"ErrorInfo": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}
            }}}}
        })
    }

    #[test]
    fn the_vendored_shape_is_accepted() {
        check_wrapper_requirements(&doc()).unwrap();
        check_revoke_requirements(&doc()).unwrap();
    }

    #[test]
    fn the_wrapper_needs_error_info_alone() {
        // No operations at all: the wrapper is still supported, revoking
        // is not.
        let mut d = doc();
        d["paths"] = json!({});
        check_wrapper_requirements(&d).unwrap();
        assert!(
            check_revoke_requirements(&d)
                .unwrap_err()
                .contains("DELETE /access-tokens/{id}")
        );
        // `ErrorInfo` with an optional or non-string field is not enough:
        // the generated type would not have the `String` the wrapper reads.
        for (pointer, value) in [
            ("/required", json!(["code"])),
            ("/properties/code/type", json!("integer")),
        ] {
            let mut d = doc();
            *d["components"]["schemas"]["ErrorInfo"]
                .pointer_mut(pointer)
                .unwrap() = value;
            assert!(check_wrapper_requirements(&d).is_err(), "{pointer}");
        }
    }

    #[test]
    fn the_id_may_be_the_paths_parameter_or_a_shared_one() {
        let id = doc()["paths"]["/access-tokens/{id}"]["delete"]["parameters"][0].clone();
        // Declared on the path, which its operations inherit.
        let mut d = doc();
        let path = &mut d["paths"]["/access-tokens/{id}"];
        path["parameters"] = path["delete"]["parameters"].take();
        check_revoke_requirements(&d).unwrap();
        // A `$ref` to a shared parameter, on the operation or on its path.
        for on_path in [false, true] {
            let mut d = doc();
            d["components"]["parameters"] = json!({"TokenId": id.clone()});
            let shared = json!([{"$ref": "#/components/parameters/TokenId"}]);
            let path = &mut d["paths"]["/access-tokens/{id}"];
            if on_path {
                path["delete"]["parameters"] = json!([]);
                path["parameters"] = shared;
            } else {
                path["delete"]["parameters"] = shared;
            }
            check_revoke_requirements(&d).unwrap();
        }
        // An `id` that is not the path's is not the one.
        let mut d = doc();
        d["paths"]["/access-tokens/{id}"]["delete"]["parameters"][0]["in"] = json!("query");
        assert!(check_revoke_requirements(&d).is_err());
    }

    #[test]
    fn each_missing_piece_is_named() {
        let mut d = doc();
        d["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("ErrorInfo");
        assert!(
            check_wrapper_requirements(&d)
                .unwrap_err()
                .contains("ErrorInfo")
        );

        let mut d = doc();
        d["paths"] = json!({"/tokens/{token}": {}});
        assert!(
            check_revoke_requirements(&d)
                .unwrap_err()
                .contains("DELETE /access-tokens/{id}")
        );

        let mut d = doc();
        d["paths"]["/access-tokens/{id}"]["delete"]["responses"]["400"]["content"]["application/json"]
            ["schema"] = json!({"$ref": "#/components/schemas/ErrorResponse"});
        assert!(
            check_revoke_requirements(&d)
                .unwrap_err()
                .contains("error 400")
        );

        let mut d = doc();
        d["paths"]["/access-tokens/{id}"]["delete"]["responses"]["204"]["content"] =
            json!({"application/json": {"schema": {"type": "object"}}});
        assert!(
            check_revoke_requirements(&d)
                .unwrap_err()
                .contains("has a body")
        );
    }
}
