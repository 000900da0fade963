//! The browser family a user agent names, for the session list's browser filter. Order matters:
//! Edge and Opera say "Chrome" too, and Chrome says "Safari".

/// `chrome`, `edge`, `firefox`, `safari`, `opera` or `other`.
pub fn family(user_agent: &str) -> &'static str {
    let ua = user_agent.as_bytes();
    let has = |needle: &str| memchr::memmem::find(ua, needle.as_bytes()).is_some();
    if has("Edg/") || has("Edge/") {
        "edge"
    } else if has("OPR/") || has("Opera") {
        "opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "firefox"
    } else if has("Chrome/") || has("Chromium/") || has("CriOS/") {
        "chrome"
    } else if has("Safari/") {
        "safari"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn common_user_agents_name_their_browser() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15";
        let opera = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0";
        assert_eq!(family(chrome), "chrome");
        assert_eq!(family(edge), "edge");
        assert_eq!(family(firefox), "firefox");
        assert_eq!(family(safari), "safari");
        assert_eq!(family(opera), "opera");
        assert_eq!(family("curl/8.0"), "other");
        assert_eq!(family(""), "other");
    }
}
