//! Where an agent may send the user's page: the same rule the page applies before it navigates,
//! checked again on the node that holds the session so that a console that forges `navigate`
//! gets no further than one that follows the rules. Pure: the page's URL (from the tab's
//! `hello`) and the target in, a verdict out.

use std::collections::BTreeMap;

use url::Url;

use crate::protocol::{ControlInput, NavigateTo, PageInfo, Signal};

/// Why a `navigate` was dropped: its target is not an http(s) page of the page's own origin.
pub const OTHER_ORIGIN: &str = "other_origin";

/// `Ok` when `target`, resolved against `page_url` as the browser resolves it, is an `http:` or
/// `https:` URL of the page's origin; else what is wrong with it. A page whose own URL is not
/// http(s) (an opaque origin) may not be navigated by URL at all: there is no origin to stay in,
/// and `javascript:` would run in it.
pub fn check(page_url: &str, target: &str) -> Result<(), String> {
    let page =
        Url::parse(page_url).map_err(|_| format!("the page's URL '{page_url}' is not a URL"))?;
    if !is_http(&page) {
        return Err(format!(
            "the page ({}) has no http(s) origin",
            page.scheme()
        ));
    }
    let to = page
        .join(target)
        .map_err(|_| format!("'{target}' is not a URL"))?;
    if !is_http(&to) {
        return Err(format!(
            "only http(s) URLs may be opened, not {}:",
            to.scheme()
        ));
    }
    if to.origin() != page.origin() {
        return Err(format!(
            "navigation to another origin ({}) is not allowed; only {}",
            to.origin().ascii_serialization(),
            page.origin().ascii_serialization()
        ));
    }
    Ok(())
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Why a `navigate` to a URL must not reach the tab it names: the target is not an http(s)
/// page of the origin that tab's tracker reported (`tabs`, the tabs connected here). Input for a
/// tab not connected here is left to consent, which drops it as `no_page`.
pub fn refusal(tabs: &BTreeMap<String, PageInfo>, signal: &Signal) -> Option<String> {
    let Signal::Control {
        tab,
        input: ControlInput::Navigate {
            to: NavigateTo::Url,
            url,
        },
    } = signal
    else {
        return None;
    };
    check(&tabs.get(tab)?.url, url.as_deref().unwrap_or("")).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://shop.example/cart/";

    #[test]
    fn paths_and_urls_of_the_same_origin_are_allowed() {
        for target in [
            "/checkout",
            "checkout",
            "../help?q=1#top",
            "https://shop.example/",
            "https://SHOP.example:443/x",
        ] {
            assert_eq!(check(PAGE, target), Ok(()), "{target}");
        }
    }

    #[test]
    fn another_origin_is_refused_however_it_is_spelled() {
        for target in [
            "https://evil.example/",
            "http://shop.example/",
            "https://shop.example:8443/",
            "//evil.example/x",
            "/\\evil.example/x",
            "\\\\evil.example",
            " https://evil.example",
            "https://shop.example@evil.example/",
        ] {
            assert!(check(PAGE, target).is_err(), "{target}");
        }
    }

    #[test]
    fn only_http_urls_may_be_opened() {
        for target in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "blob:https://shop.example/1",
        ] {
            let refusal = check(PAGE, target).expect_err(target);
            assert!(refusal.contains("only http(s)"), "{target}: {refusal}");
        }
    }

    #[test]
    fn a_page_without_an_http_origin_is_not_navigated_by_url() {
        for page in [
            "about:blank",
            "data:text/html,hi",
            "file:///tmp/a.html",
            "nonsense",
        ] {
            assert!(check(page, "/x").is_err(), "{page}");
        }
    }
}
