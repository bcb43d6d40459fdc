//! Which handle may send an operation, and where it would go: the
//! account's handle sends account operations, a basin's the operations the
//! spec serves per basin, and every URL must be the operation's path
//! template with one segment per argument.

use reqwest::header::HeaderValue;

use super::headers::S2_BASIN;
use crate::spec::Operation;

/// Whose handle a layer serves.
#[derive(Clone, Debug)]
pub(super) enum Scope {
    /// The account's: basin operations need a basin.
    Account,
    /// A basin's, with the `s2-basin` header when basins share the account
    /// endpoint.
    Basin(Option<HeaderValue>),
}

impl Scope {
    /// The `s2-basin` header the handle sends, when basins share the
    /// account endpoint.
    pub(super) fn basin_header(&self) -> Option<&HeaderValue> {
        match self {
            Self::Basin(header) => header.as_ref(),
            Self::Account => None,
        }
    }

    /// Why `request` for `operation`, built against `base_url`, must not be
    /// sent from this handle, if it must not: an argument that is not one
    /// path segment; an operation the spec serves per basin, on a handle
    /// without one (sent from the account's handle it would reach no basin:
    /// `bad_header` on a shared endpoint, the account host otherwise); or
    /// an account operation on a basin's handle.
    pub(super) fn refusal(
        &self,
        request: &reqwest::Request,
        operation: &Operation,
        base_url: &str,
    ) -> Option<String> {
        let id = operation.id;
        if !follows_template(request.url(), base_url, operation.path) {
            return Some(format!(
                "an argument of `{id}` would not be sent as one path segment of \
                 `{}` (a `\\` is read as `/`, and `.` or `..` as a relative path): the \
                 request would reach another resource",
                operation.path
            ));
        }
        let per_basin = operation.basin_server.is_some();
        match self {
            Self::Account if per_basin && !request.headers().contains_key(S2_BASIN) => Some(
                format!("`{id}` is served per basin: call it on `client.basin(name)`"),
            ),
            // Sent from a basin's handle it would reach the basin's host,
            // or carry a basin it does not concern.
            Self::Basin(_) if !per_basin => Some(format!(
                "`{id}` is served by the account: call it on the client, not a basin"
            )),
            _ => None,
        }
    }
}

/// Whether `url` is the spec's path `template` under `base_url`, each
/// `{parameter}` one non-empty segment. progenitor's path encoder leaves `\`
/// and `.` as they are, and URL parsing makes them a separator and dot
/// segments, which could send a call with a name such as `logs\2024` or
/// `..` to another resource.
fn follows_template(url: &url::Url, base_url: &str, template: &str) -> bool {
    // Byte by byte: this runs on every call.
    let base = base_url.as_bytes();
    let authority = base.windows(2).position(|w| w == b"//").map_or(0, |i| i + 2);
    let mut base_path = base[authority..]
        .iter()
        .position(|&b| b == b'/')
        .map_or(&[][..], |i| &base[authority + i..]);
    while let [head @ .., b'/'] = base_path {
        base_path = head;
    }
    let Some(rest) = url.path().as_bytes().strip_prefix(base_path) else {
        return false;
    };
    let mut sent = rest.split(|&b| b == b'/');
    let mut wanted = template.as_bytes().split(|&b| b == b'/');
    loop {
        match (sent.next(), wanted.next()) {
            (None, None) => return true,
            (Some(sent), Some(wanted)) if wanted.contains(&b'{') => {
                if sent.is_empty() {
                    return false;
                }
            }
            (Some(sent), Some(wanted)) if sent == wanted => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:8080/v1";

    /// An operation of the spec, served per basin or by the account.
    fn operation(id: &'static str, path: &'static str, per_basin: bool) -> Operation {
        Operation {
            id,
            method: "GET",
            path,
            takes_request_token: false,
            record_format: false,
            basin_server: per_basin.then_some("https://{basin}.b.s2.dev/v1"),
            wait_param: None,
        }
    }

    fn get(path: &str, basin: Option<&str>) -> reqwest::Request {
        let mut request = reqwest::Client::new().get(format!("{BASE}{path}"));
        if let Some(basin) = basin {
            request = request.header("s2-basin", basin);
        }
        request.build().unwrap()
    }

    #[test]
    fn each_handle_sends_only_its_own_operations() {
        let read = operation("read", "/streams/{stream}/records", true);
        let list_basins = operation("list_basins", "/basins", false);
        let account = Scope::Account;
        let basin = Scope::Basin(None);
        let shared = Scope::Basin(Some(HeaderValue::from_static("b")));
        let records = get("/streams/s/records", None);
        let basins = get("/basins", None);

        let refused = account.refusal(&records, &read, BASE).unwrap();
        assert!(refused.contains("`read` is served per basin"), "{refused}");
        // Unless the caller named the basin itself.
        let named = get("/streams/s/records", Some("b"));
        assert_eq!(account.refusal(&named, &read, BASE), None);
        assert_eq!(account.refusal(&basins, &list_basins, BASE), None);

        for scope in [&basin, &shared] {
            assert_eq!(scope.refusal(&records, &read, BASE), None);
            let refused = scope.refusal(&basins, &list_basins, BASE).unwrap();
            assert!(refused.contains("`list_basins` is served by the account"));
        }
        assert_eq!(account.basin_header(), None);
        assert_eq!(basin.basin_header(), None);
        assert_eq!(shared.basin_header().unwrap(), "b");
    }

    #[test]
    fn a_request_off_its_template_is_refused_on_every_handle() {
        let read = operation("read", "/streams/{stream}/records", true);
        let escaping = get(r"/streams/..\x/records", None);
        for scope in [Scope::Account, Scope::Basin(None)] {
            let refused = scope.refusal(&escaping, &read, BASE).unwrap();
            assert!(refused.contains("one path segment of"), "{refused}");
        }
    }

    #[test]
    fn a_request_follows_its_template_only_with_one_segment_per_argument() {
        let base = "http://127.0.0.1:8080/v1";
        let sent = |path: &str| {
            let url = url::Url::parse(&format!("{base}{path}")).unwrap();
            follows_template(&url, base, "/streams/{stream}/records")
        };
        assert!(sent("/streams/logs/records"));
        assert!(sent("/streams/a%5Cb%2F..%25/records"));
        for wrong in [
            r"/streams/logs\2024/records",
            r"/streams/..\..\x\streams\y/records",
            "/streams/../records",
            "/streams/./records",
            "/streams//records",
            "/streams/logs",
            "/basins/logs/records",
        ] {
            assert!(!sent(wrong), "{wrong}");
        }
        let url = url::Url::parse("http://h/streams/x").unwrap();
        assert!(follows_template(&url, "http://h/", "/streams/{stream}"));
        assert!(follows_template(&url, "http://h", "/streams/{stream}"));
        assert!(!follows_template(&url, "http://h/v1", "/streams/{stream}"));
    }

    proptest::proptest! {
        /// Any name without `\` that is not `.` or `..` is sent as one
        /// segment that decodes back to it: the check refuses none of them.
        #[test]
        fn every_name_that_is_one_segment_is_let_through(name in "\\PC{1,24}") {
            proptest::prop_assume!(!name.contains('\\') && name != "." && name != "..");
            let base = "http://127.0.0.1:8080/v1";
            let path = format!("/streams/{}/records", progenitor_client::encode_path(&name));
            let url = url::Url::parse(&format!("{base}{path}")).unwrap();
            let template = "/streams/{stream}/records";
            proptest::prop_assert!(follows_template(&url, base, template), "{}", url);
            let segment = url.path_segments().unwrap().nth(2).unwrap();
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().unwrap();
            proptest::prop_assert_eq!(decoded, name);
        }
    }
}
