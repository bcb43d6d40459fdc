//! What the hand-written wrapper of `s2-openapi` needs from a spec.
//!
//! The wrapper calls the generated `revoke_access_token` builder and decodes
//! its errors as `ErrorInfo { code, message }`. When a spec no longer offers
//! that, the build should say so in one line rather than fail with type
//! errors inside the wrapper.

use serde_json::Value;

use crate::surface::resolve;

/// The operation the wrapper wraps.
pub const REVOKE_OPERATION_ID: &str = "revoke_access_token";

/// Checks that `doc` (before or after lowering) has a `revoke_access_token`
/// operation `DELETE /access-tokens/{id}` with an `id` path parameter, no
/// success body, and every error body an `ErrorInfo` with string `code` and
/// `message`. Returns what is missing otherwise.
pub fn check_wrapper_requirements(doc: &Value) -> Result<(), String> {
    let error_info = doc
        .pointer("/components/schemas/ErrorInfo")
        .ok_or("no `ErrorInfo` schema")?;
    for field in ["code", "message"] {
        let ty = error_info
            .pointer(&format!("/properties/{field}/type"))
            .and_then(Value::as_str);
        if ty != Some("string") {
            return Err(format!("`ErrorInfo` has no string `{field}` property"));
        }
    }
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
            "components": {"schemas": {"ErrorInfo": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}
            }}}}
        })
    }

    #[test]
    fn the_vendored_shape_is_accepted() {
        check_wrapper_requirements(&doc()).unwrap();
    }

    #[test]
    fn the_id_may_be_the_paths_parameter_or_a_shared_one() {
        let id = doc()["paths"]["/access-tokens/{id}"]["delete"]["parameters"][0].clone();
        // Declared on the path, which its operations inherit.
        let mut d = doc();
        let path = &mut d["paths"]["/access-tokens/{id}"];
        path["parameters"] = path["delete"]["parameters"].take();
        check_wrapper_requirements(&d).unwrap();
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
            check_wrapper_requirements(&d).unwrap();
        }
        // An `id` that is not the path's is not the one.
        let mut d = doc();
        d["paths"]["/access-tokens/{id}"]["delete"]["parameters"][0]["in"] = json!("query");
        assert!(check_wrapper_requirements(&d).is_err());
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
            check_wrapper_requirements(&d)
                .unwrap_err()
                .contains("DELETE /access-tokens/{id}")
        );

        let mut d = doc();
        d["paths"]["/access-tokens/{id}"]["delete"]["responses"]["400"]["content"]["application/json"]
            ["schema"] = json!({"$ref": "#/components/schemas/ErrorResponse"});
        assert!(
            check_wrapper_requirements(&d)
                .unwrap_err()
                .contains("error 400")
        );

        let mut d = doc();
        d["paths"]["/access-tokens/{id}"]["delete"]["responses"]["204"]["content"] =
            json!({"application/json": {"schema": {"type": "object"}}});
        assert!(
            check_wrapper_requirements(&d)
                .unwrap_err()
                .contains("has a body")
        );
    }
}
