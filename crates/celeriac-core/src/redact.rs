//! Keeping passwords out of logs, pages and error messages.

/// The URL with the password of its user-info part replaced by `***`
/// (`redis://:secret@host/0` → `redis://:***@host/0`); a URL without
/// user-info is returned as it is.
pub fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact_password("redis://:s3cret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_password("rediss://app:p@ss@host/1?x=1"),
            "rediss://app:***@host/1?x=1"
        );
        assert_eq!(redact_password("redis://app@host/1"), "redis://app@host/1");
        assert_eq!(redact_password("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }
}
