//! What every HTML page shares (the page and the registration form): the escaping, the head with
//! its style sheet, the foot, and the headers of an HTML response. Below `site` and `register`, so
//! neither imports the other for it.

use super::Response;
use std::fmt::Write as _;

/// An HTML response with the headers every page gets.
pub fn html(status: &'static str, body: Vec<u8>) -> Response {
    Response::new(status)
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("X-Frame-Options", "DENY")
        .header("Referrer-Policy", "no-referrer")
        .body("text/html; charset=utf-8", body)
}

/// Escapes text for HTML/XML element content and quoted attribute values (the page, the form,
/// the RST.srf SOAP answer).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// `esc`, appending to `out`.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Page top shared with the registration form.
pub fn page_head(title: &str, out: &mut String) {
    let _ = write!(
        out,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
<html lang=\"en\">\n<head>\n\
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n\
<title>{title}</title>\n\
<link rel=\"icon\" href=\"/favicon.ico\" type=\"image/x-icon\">\n\
<link rel=\"shortcut icon\" href=\"/favicon.ico\" type=\"image/x-icon\">\n\
<style type=\"text/css\">\n{STYLE}</style>\n</head>\n<body>\n<div id=\"page\">\n",
        title = esc(title)
    );
}

/// Page bottom shared with the registration form.
pub fn page_foot(out: &mut String) {
    out.push_str(
        "<p class=\"foot\">msnpd: an MSN Messenger server for MSN Messenger 1.0 to \
Windows Live Messenger 2009 (MSNP2 to MSNP18).</p>\n</div>\n</body>\n</html>\n",
    );
}

/// CSS 2.1 only: IE6 has no flexbox, grid, max-width or rgba, so the page must read fine without
/// them; `max-width` merely narrows the column where supported.
const STYLE: &str = "body { margin: 0; padding: 0; background: #dfe8f5; color: #1a1a1a; \
font-family: Tahoma, Verdana, Arial, sans-serif; font-size: 13px; }\n\
#page { margin: 0 auto; max-width: 52em; padding: 0 12px 16px 12px; background: #ffffff; \
border-left: 1px solid #9fb4d6; border-right: 1px solid #9fb4d6; }\n\
h1 { margin: 0 -12px 12px -12px; padding: 10px 12px; background: #3a6ea5; color: #ffffff; \
font-size: 20px; font-weight: bold; }\n\
h1 span { font-size: 13px; font-weight: normal; color: #e8f0fa; }\n\
h2 { margin: 20px 0 6px 0; padding: 3px 6px; background: #e8eef7; border-left: 4px solid #3a6ea5; \
font-size: 15px; color: #1f3f66; }\n\
h3 { margin: 14px 0 4px 0; font-size: 13px; color: #1f3f66; }\n\
table.info { border-collapse: collapse; margin: 4px 0; }\n\
table.info th, table.info td { border: 1px solid #c5d3e6; padding: 3px 8px; text-align: left; \
vertical-align: top; }\n\
table.info th { background: #f1f5fb; font-weight: bold; }\n\
pre, code, tt { font-family: 'Courier New', Courier, monospace; font-size: 12px; }\n\
pre { background: #f6f6f0; border: 1px solid #d8d8c8; padding: 6px 8px; overflow: auto; }\n\
.addr { font-family: 'Courier New', Courier, monospace; font-weight: bold; color: #0b3d91; }\n\
.note { background: #fff8d6; border: 1px solid #e6d58a; padding: 5px 8px; margin: 6px 0; }\n\
.error { background: #fde8e8; border: 1px solid #d98080; color: #8a1010; padding: 5px 8px; margin: 6px 0; }\n\
.ok { background: #e6f6e6; border: 1px solid #8cc78c; padding: 5px 8px; margin: 6px 0; }\n\
.expect { color: #444444; }\n\
.foot { margin-top: 24px; color: #666666; font-size: 11px; border-top: 1px solid #c5d3e6; padding-top: 6px; }\n\
form table td { padding: 3px 6px 3px 0; }\n\
input.text { width: 18em; }\n";

/// An HTML page under construction, a small typed template: markup comes only from `&'static
/// str` (template text written in the source), and every value from outside goes through `text`,
/// which escapes it, or `num`. A page therefore cannot carry unescaped input by construction, and
/// no template crate is needed (the binary targets small ARM boards).
pub struct Html(String);

/// Numbers a template may show as they are (they cannot contain markup).
pub trait Number: std::fmt::Display + Copy {}
impl Number for u16 {}
impl Number for u32 {}
impl Number for u64 {}
impl Number for usize {}

impl Html {
    /// A page with the shared head (`page_head`) and title `title` (escaped).
    pub fn page(title: &str, capacity: usize) -> Html {
        let mut out = String::with_capacity(capacity);
        page_head(title, &mut out);
        Html(out)
    }

    /// Template text: trusted markup, written in the source.
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// A value from outside, escaped.
    pub fn text(&mut self, value: &str) -> &mut Html {
        push_escaped(&mut self.0, value);
        self
    }

    /// A number.
    pub fn num(&mut self, n: impl Number) -> &mut Html {
        let _ = write!(self.0, "{n}");
        self
    }

    /// The page with the shared foot (`page_foot`).
    pub fn finish(mut self) -> String {
        page_foot(&mut self.0);
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_text_is_kept_and_values_are_escaped() {
        let mut h = Html::page("<t>", 0);
        h.raw("<b>").text("<i>&\"'").num(5u16).raw("</b>");
        let s = h.finish();
        assert!(s.contains("<title>&lt;t&gt;</title>"), "{s}");
        assert!(s.contains("<b>&lt;i&gt;&amp;&quot;&#39;5</b>"), "{s}");
        assert!(s.starts_with("<!DOCTYPE HTML") && s.ends_with("</html>\n"));
    }
}
