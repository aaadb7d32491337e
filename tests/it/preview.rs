//! `huntbook preview` pages as a browser treats them: each carries a Content-Security-Policy that lets its own
//! script and the vendored card renderer run and nothing else — a second wall behind the escaping of every
//! value. Looked at in headless Chromium.

use crate::common;

use std::path::Path;

fn preview(playbook: &str, out: &Path) {
    let output = common::huntbook()
        .current_dir(common::repo())
        .args(["preview", playbook, "-o"])
        .arg(out)
        .env_remove("HUNTBOOK_CONFIG")
        .output()
        .expect("huntbook runs");
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
}

fn pages(out: &Path) -> Vec<std::path::PathBuf> {
    let mut pages: Vec<_> = std::fs::read_dir(out)
        .expect("the pages")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "html"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_preview_page_carries_a_policy_that_runs_its_own_script_and_nothing_else() {
    let out = tempfile::tempdir().expect("temp dir");
    preview("manual-device-isolation", out.path());
    preview("offboarding-package-download", out.path());
    for page in pages(out.path()) {
        let html = std::fs::read_to_string(&page).expect("a page");
        assert!(
            html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src "),
            "{}: no policy",
            page.display()
        );
        let scripts = html.split("script-src ").nth(1).and_then(|rest| rest.split(';').next()).unwrap_or_default();
        assert!(!scripts.contains("unsafe"), "{}: script-src {scripts}", page.display());
        assert!(!html.contains("onclick="), "{}: an inline handler of its own", page.display());
    }
    let Some(browser) = common::chromium("the preview pages are not looked at in a browser") else { return };
    let card = out.path().join("01-soc-teams.html");
    let dom = common::browser_dom(&browser, &format!("file://{}", card.display()));
    assert!(dom.contains("ac-adaptiveCard"), "the renderer drew the card under the policy:\n{dom}");
    assert!(dom.contains("\"$schema\""), "the page's own script filled in the payload:\n{dom}");

    // Markup that slipped into a page (it cannot: every value is escaped) would not run.
    let html = std::fs::read_to_string(&card).expect("the card page");
    let planted = html.replace(
        "</main>",
        "<script>document.body.setAttribute('data-planted','ran')</script>\
         <img src=x onerror=\"document.body.setAttribute('data-handler','ran')\"></main>",
    );
    let copy = out.path().join("planted.html");
    std::fs::write(&copy, planted).expect("a copy");
    let dom = common::browser_dom(&browser, &format!("file://{}", copy.display()));
    assert!(dom.contains("ac-adaptiveCard"), "the page's own scripts still ran:\n{dom}");
    assert!(
        !dom.contains("data-planted=\"ran\"") && !dom.contains("data-handler=\"ran\""),
        "a planted script ran:\n{dom}"
    );

    // The e-mail page's script fits the frame to the e-mail (it ran under the policy).
    let mail = pages(out.path()).into_iter().find(|p| p.to_string_lossy().contains("soc-mail")).expect("an e-mail");
    let dom = common::browser_dom(&browser, &format!("file://{}", mail.display()));
    let frame = dom.split("<iframe").nth(1).expect("the e-mail's frame");
    assert!(frame.split('>').next().unwrap_or_default().contains("height:"), "the frame was fitted:\n{frame}");
}
