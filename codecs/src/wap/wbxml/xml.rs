//! The XML form of a document (what `wbxml2xml` would show): escaping and the prologue.

use super::tokens::Vocabulary;

/// `s` with the five XML special characters escaped.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The XML declaration and the DOCTYPE of a document type, each on its own line.
pub(crate) fn header(v: &Vocabulary) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE {} PUBLIC \"{}\" \"{}\">\n",
        v.root, v.fpi, v.dtd
    )
}

#[cfg(test)]
mod tests {
    use super::super::tokens::{PROV, SI, SL};
    use super::*;

    #[test]
    fn prologues() {
        assert_eq!(
            header(&SI),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE si PUBLIC \"-//WAPFORUM//DTD SI 1.0//EN\" \"http://www.wapforum.org/DTD/si.dtd\">\n"
        );
        assert!(header(&SL).contains(
            "<!DOCTYPE sl PUBLIC \"-//WAPFORUM//DTD SL 1.0//EN\" \"http://www.wapforum.org/DTD/sl.dtd\">"
        ));
        assert!(header(&PROV).contains(
            "<!DOCTYPE wap-provisioningdoc PUBLIC \"-//WAPFORUM//DTD PROV 1.0//EN\" \"http://www.wapforum.org/DTD/prov.dtd\">"
        ));
        assert_eq!(escape("a&<>\"'é"), "a&amp;&lt;&gt;&quot;&apos;é");
    }
}
