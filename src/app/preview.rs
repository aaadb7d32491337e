//! `huntbook preview PLAYBOOK`: every message the playbook would send, as HTML pages a person looks at before a
//! single one is sent. E-mails are shown as a mail client shows them (the headers, the attachments by name and
//! size, the HTML part in a sandboxed frame whose width can be set to 600 or 960 px); Teams cards are drawn by the
//! Adaptive Cards JavaScript renderer with Teams' light host configuration (both vendored in `assets/preview`,
//! MIT); file documents are shown as JSON. The messages come from a test of the playbook (its fixtures, its
//! `now`) or from a data directory, through the real pipeline; nothing is recorded or sent.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use mail_parser::{MessageParser, MimeHeaders};

use super::{Outcome, workspace};
use crate::cli::PreviewArgs;
use crate::diagnostics::render_diagnostics;
use crate::render::email::escape_html;
use crate::runner::{RunOptions, RunSummary, Services, run_playbook};
use crate::schedule::{FixedClock, Window};
use crate::store::{MessageKind, NewMessage, Store};

const RENDERER: &str = include_str!("../../assets/preview/adaptivecards.min.js");
const RENDERER_LICENSE: &str = include_str!("../../assets/preview/LICENSE-adaptivecards.txt");
const HOST_CONFIG: &str = include_str!("../../assets/preview/teams-light-hostconfig.json");

pub fn preview(args: PreviewArgs) -> Result<Outcome> {
    let workspace = match workspace::open(&args.config) {
        Ok(workspace) => workspace,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let playbook = match workspace.playbook(&args.playbook) {
        Ok(playbook) => playbook,
        Err(problem) => {
            crate::say_inline!("{}", render_diagnostics(&[*problem]));
            return Ok(Outcome::Invalid);
        }
    };
    let (summary, origin) = match (&args.data, &args.test) {
        (Some(data), _) => {
            (run_over_data(&workspace, playbook, data, args.now.as_deref())?, format!("the data in {}", data.display()))
        }
        (None, name) => {
            let test = match name {
                Some(name) => playbook.tests.iter().find(|t| &t.name == name).ok_or_else(|| {
                    let names: Vec<&str> = playbook.tests.iter().map(|t| t.name.as_str()).collect();
                    super::usage(format!(
                        "{} has no test named {name:?}; its tests: {}",
                        playbook.id,
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ))
                })?,
                None => playbook.tests.first().ok_or_else(|| {
                    super::usage(format!("{} has no tests: give --data DIR to run it over table files", playbook.id))
                })?,
            };
            let summary = super::playbook_tests::test_run(&workspace, playbook, test)
                .map_err(|failures| anyhow!("the test {:?} does not run: {}", test.name, failures.join("; ")))?;
            (summary, format!("its test “{}”", test.name))
        }
    };
    let out = args.out.clone().unwrap_or_else(|| Path::new("preview").join(&playbook.id));
    let pages = pages(&playbook.title, &origin, &summary)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, bytes) in &pages {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let index = out.join("index.html");
    let stdout = std::io::stdout();
    let mut writer = stdout.lock();
    writeln!(
        writer,
        "{} message{} from {origin}: {}",
        summary.messages.len(),
        if summary.messages.len() == 1 { "" } else { "s" },
        index.display()
    )?;
    drop(writer);
    if args.open {
        open_in_browser(&index);
    }
    if let Some(port) = args.serve {
        serve(pages, port)?;
    }
    Ok(Outcome::Success)
}

/// The playbook over every row of a data directory (the 30 days before `now`), with a fresh in-memory state.
fn run_over_data(
    workspace: &workspace::Workspace,
    playbook: &crate::playbook::Playbook,
    data: &Path,
    now: Option<&str>,
) -> Result<RunSummary> {
    let now = match now {
        Some(text) => super::run::parse_time_arg("--now", text)?,
        None => crate::schedule::system_now(),
    };
    let dir = crate::kql::load::DataDir::open(data)
        .map_err(|error| super::usage(format!("--data {}: {}", data.display(), error.message)))?;
    let catalog: Arc<dyn crate::kql::table::Catalog> = Arc::new(dir);
    let source = crate::source::local::LocalSource::new(catalog, false);
    let clock = FixedClock(now);
    let services =
        Services { config: &workspace.config, source: &source, templates: &workspace.templates, clock: &clock };
    let mut store = Store::open_in_memory().context("the in-memory state")?;
    let options =
        RunOptions { dry_run: true, window: Some(Window { start: now - crate::schedule::MAX_LOOKBACK, end: now }) };
    run_playbook(&services, &mut store, playbook, options)
        .map_err(|error| anyhow!(error.render().trim_end().to_string()))
}

/// Every page of the preview, by file name.
fn pages(title: &str, origin: &str, summary: &RunSummary) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut pages = BTreeMap::new();
    pages.insert("adaptivecards.min.js".to_string(), RENDERER.as_bytes().to_vec());
    pages.insert("LICENSE-adaptivecards.txt".to_string(), RENDERER_LICENSE.as_bytes().to_vec());
    let mut items = String::new();
    for (number, (message, rows)) in summary.messages.iter().zip(&summary.message_rows).enumerate() {
        let name = format!("{:02}-{}.html", number + 1, file_safe(&message.receiver));
        let (kind, page) = match message.kind {
            MessageKind::Email => ("e-mail", email_page(message)?),
            MessageKind::Teams => ("Teams card", card_page(message)),
            MessageKind::File => ("file document", file_page(message)),
        };
        items.push_str(&format!(
            "<li><a href=\"{name}\">{}</a> <span>{kind} to {} · {rows} hit{}</span></li>\n",
            escape_html(&message.subject),
            escape_html(&message.receiver),
            if *rows == 1 { "" } else { "s" }
        ));
        pages.insert(name, page.into_bytes());
    }
    if items.is_empty() {
        items.push_str("<li>No message: the run found nothing to send.</li>");
    }
    let index = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{policy}<title>Preview: {title}</title>{STYLE}</head>\
         <body><main><h1>{title}</h1><p>What the playbook would send from {origin}: window {} → {} UTC, {} new hit{}.</p>\
         <ol class=\"messages\">{items}</ol></main></body></html>\n",
        summary.window.start.format("%Y-%m-%d %H:%M"),
        summary.window.end.format("%Y-%m-%d %H:%M"),
        summary.new_hits,
        if summary.new_hits == 1 { "" } else { "s" },
        title = escape_html(title),
        origin = escape_html(origin),
        policy = content_security_policy(&[], false),
    );
    pages.insert("index.html".to_string(), index.into_bytes());
    Ok(pages)
}

const STYLE: &str = "<style>body{margin:0;background:#f3f4f6;font:14px/1.5 'Segoe UI',Arial,sans-serif;color:#111827}\
main{max-width:1000px;margin:0 auto;padding:16px}h1{font-size:20px}.messages li{margin:6px 0}.messages span{color:#6b7280}\
.headers{background:#fff;border:1px solid #d1d5db;padding:12px 16px;margin-bottom:12px}.headers dt{float:left;clear:left;width:90px;color:#6b7280}\
.headers dd{margin:0 0 2px 100px;word-break:break-word}.widths button{margin-right:6px}\
iframe{border:1px solid #d1d5db;background:#fff;display:block;width:960px;max-width:100%}\
.card{background:#fff;border:1px solid #d1d5db;border-radius:6px;max-width:100%;padding:0;overflow:hidden}\
pre{background:#fff;border:1px solid #d1d5db;padding:12px;overflow:auto;white-space:pre-wrap}</style>";

/// The e-mail page's script: the frame fits its content, and the width buttons set its width.
const EMAIL_SCRIPT: &str = "const frame=document.getElementById('mail');\
function fit(){try{frame.style.height=(frame.contentDocument.documentElement.scrollHeight+4)+'px';}catch(e){frame.style.height='1200px';}}\
function setWidth(w){frame.style.width=w?w+'px':'100%';setTimeout(fit,50);}\
document.getElementById('w600').addEventListener('click',function(){setWidth(600);});\
document.getElementById('w960').addEventListener('click',function(){setWidth(960);});\
document.getElementById('wfull').addEventListener('click',function(){setWidth(0);});\
frame.addEventListener('load',fit);const w=new URLSearchParams(location.search).get('width');if(w)setWidth(+w);";

/// A page's Content-Security-Policy: nothing runs but its own `scripts` (by their hashes) and, for a card, the
/// vendored renderer beside it; nothing is fetched but images (inline, or the templates' own over HTTPS); no
/// form, plugin or base URL. What a hit holds is escaped already; this is the second wall.
fn content_security_policy(scripts: &[&str], renderer: bool) -> String {
    use sha2::Digest;
    let mut sources: Vec<String> = scripts
        .iter()
        .map(|script| {
            let digest = sha2::Sha256::digest(script.as_bytes());
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        })
        .collect();
    if renderer {
        sources.push("'self'".to_string());
    }
    let scripts = if sources.is_empty() { "'none'".to_string() } else { sources.join(" ") };
    format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src {scripts}; \
         style-src 'unsafe-inline'; img-src 'self' data: https:; base-uri 'none'; form-action 'none'\">"
    )
}

fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// JSON fit to sit inside a `<script>`: nothing in it can close the element or start markup.
fn script_json(value: &str) -> String {
    value
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn back_link() -> &'static str {
    "<p><a href=\"index.html\">← all messages</a></p>"
}

fn email_page(message: &NewMessage) -> Result<String> {
    let parsed = MessageParser::new()
        .parse(&message.payload)
        .ok_or_else(|| anyhow!("the e-mail to {} does not parse", message.receiver))?;
    let addresses = |address: Option<&mail_parser::Address>| {
        address
            .map(|list| {
                list.iter()
                    .map(|a| match (a.name(), a.address()) {
                        (Some(name), Some(address)) => format!("{name} <{address}>"),
                        (None, Some(address)) => address.to_string(),
                        (Some(name), None) => name.to_string(),
                        (None, None) => String::new(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let mut headers = vec![
        ("From", addresses(parsed.from())),
        ("To", addresses(parsed.to())),
        ("Cc", addresses(parsed.cc())),
        ("Subject", parsed.subject().unwrap_or_default().to_string()),
        ("Date", parsed.date().map(|d| d.to_rfc3339()).unwrap_or_default()),
    ];
    let attachments: Vec<String> = parsed
        .attachments()
        .map(|part| {
            let name = part.attachment_name().unwrap_or("(unnamed)");
            let kind =
                part.content_type().map(|t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or(""))).unwrap_or_default();
            format!("{name} ({kind}, {} bytes)", part.contents().len())
        })
        .collect();
    headers.push(("Attachments", if attachments.is_empty() { "none".to_string() } else { attachments.join("; ") }));
    let listed: String = headers
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("<dt>{name}</dt><dd>{}</dd>", escape_html(value)))
        .collect();
    let mut html = parsed.body_html(0).map(|body| body.into_owned()).unwrap_or_default();
    // Inline images (a chart) are shown from the message itself: `cid:` becomes a `data:` URL of the part.
    for part in parsed.attachments() {
        let (Some(id), Some(kind)) = (part.content_id(), part.content_type()) else { continue };
        let subtype = kind.subtype().unwrap_or_default();
        if kind.ctype() != "image" || !matches!(subtype, "png" | "jpeg" | "gif") {
            continue;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(part.contents());
        let reference = format!("cid:{}", id.trim_matches(['<', '>']));
        html = html.replace(&reference, &format!("data:image/{subtype};base64,{encoded}"));
    }
    let text = parsed.body_text(0).map(|body| body.into_owned()).unwrap_or_default();
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{policy}<title>{subject}</title>{STYLE}</head><body><main>{back}\
         <dl class=\"headers\">{listed}</dl>\
         <p class=\"widths\">Width: <button id=\"w600\">600 px</button><button id=\"w960\">960 px</button>\
         <button id=\"wfull\">the window's</button></p>\
         <iframe id=\"mail\" title=\"the e-mail's HTML part\" sandbox=\"allow-same-origin allow-popups\" srcdoc=\"{srcdoc}\"></iframe>\
         <h2>Text part</h2><pre>{text}</pre></main>\
         <script>{EMAIL_SCRIPT}</script>\
         </body></html>\n",
        policy = content_security_policy(&[EMAIL_SCRIPT], false),
        subject = escape_html(parsed.subject().unwrap_or_default()),
        back = back_link(),
        srcdoc = escape_html(&html),
        text = escape_html(&text),
    ))
}

fn card_page(message: &NewMessage) -> String {
    let payload = String::from_utf8_lossy(&message.payload);
    let script = format!(
        "const payload={json};const hostConfig={host};\
         document.getElementById('payload').textContent=JSON.stringify(payload,null,2);\
         function setWidth(w){{document.getElementById('card').style.width=w+'px';}}\
         document.getElementById('phone').addEventListener('click',function(){{setWidth(420);}});\
         document.getElementById('desktop').addEventListener('click',function(){{setWidth(700);}});\
         try{{const card=new AdaptiveCards.AdaptiveCard();card.hostConfig=new AdaptiveCards.HostConfig(hostConfig);\
         card.onExecuteAction=function(a){{if(a.url)window.open(a.url,'_blank','noopener');}};\
         card.parse(payload.attachments[0].content);const errors=card.validateProperties();\
         document.getElementById('card').appendChild(card.render());\
         if(errors.getItemCount&&errors.getItemCount()>0){{const list=[];for(let i=0;i<errors.getItemCount();i++)list.push(errors.getItemAt(i).message);\
         document.getElementById('problem').textContent='The renderer reports: '+list.join('; ');}}}}\
         catch(e){{document.getElementById('problem').textContent='The card could not be drawn: '+e;}}",
        json = script_json(&payload),
        host = script_json(HOST_CONFIG),
    );
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{policy}<title>{title}</title>{STYLE}\
         <script src=\"adaptivecards.min.js\"></script></head><body><main>{back}\
         <p>Teams card to {receiver} ({bytes} bytes of payload), drawn with the Adaptive Cards renderer and the Teams light host configuration. \
         Width: <button id=\"phone\">phone</button><button id=\"desktop\">desktop</button></p>\
         <div class=\"card\" id=\"card\" style=\"width:700px\"></div><p id=\"problem\"></p>\
         <h2>Payload</h2><pre id=\"payload\"></pre></main>\
         <script>{script}</script></body></html>\n",
        policy = content_security_policy(&[&script], true),
        title = escape_html(&message.subject),
        back = back_link(),
        receiver = escape_html(&message.receiver),
        bytes = message.payload.len(),
    )
}

fn file_page(message: &NewMessage) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{policy}<title>{title}</title>{STYLE}</head><body><main>{back}\
         <p>File document for {receiver}:</p><pre>{body}</pre></main></body></html>\n",
        title = escape_html(&message.subject),
        back = back_link(),
        receiver = escape_html(&message.receiver),
        body = escape_html(&String::from_utf8_lossy(&message.payload)),
        policy = content_security_policy(&[], false),
    )
}

/// Opens a page with the system's browser; a failure is said, not fatal.
fn open_in_browser(path: &Path) {
    let path: PathBuf = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(error) = std::process::Command::new(opener).arg(&path).spawn() {
        crate::say!("warning: could not start {opener} to open {}: {error}", path.display());
    }
}

/// Serves the pages (from memory: nothing else is reachable) on 127.0.0.1 until interrupted.
fn serve(pages: BTreeMap<String, Vec<u8>>, port: u16) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the server")?;
    use axum::response::IntoResponse;
    runtime.block_on(async move {
        let pages = Arc::new(pages);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let pages = pages.clone();
            async move {
                let name = uri.path().trim_start_matches('/');
                let name = if name.is_empty() { "index.html" } else { name };
                match pages.get(name) {
                    Some(bytes) => {
                        let kind = if name.ends_with(".js") {
                            "text/javascript; charset=utf-8"
                        } else if name.ends_with(".txt") {
                            "text/plain; charset=utf-8"
                        } else {
                            "text/html; charset=utf-8"
                        };
                        ([(axum::http::header::CONTENT_TYPE, kind)], bytes.clone()).into_response()
                    }
                    None => (axum::http::StatusCode::NOT_FOUND, "no such page").into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.context("listening on loopback")?;
        let address = listener.local_addr().context("the server's address")?;
        println!("serving the preview on http://{address}/ (Ctrl-C stops)");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving the preview")
    })
}
