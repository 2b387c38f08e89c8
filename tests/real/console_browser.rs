//! The web console in a real browser (issue 32): headless Chromium,
//! driven through chromedriver, against a daemon with the real children.
//! An admin signs in and sees the fleet; a question asked through the CLI
//! appears in the jobs table as pending and turns delivered without a
//! reload; the graph shows the pair with its count; search finds the
//! conversation; the admin stops an instance; a module token cannot see
//! another module's conversation.
//!
//! `CLAUDE_COMMS_CONSOLE_SCREENSHOTS=DIR` saves a PNG of each page there.

use crate::daemon_cli;
use crate::host;
use crate::real_children;
use crate::webdriver;

use std::path::PathBuf;
use std::time::Duration;

use daemon_cli::{DaemonGuard, cli, json_of};
use real_children::RealChildren;
use webdriver::Browser;

const PAGE: Duration = Duration::from_secs(20);

/// Signs in through the form, as a person would.
fn sign_in(browser: &Browser, base: &str, token: &str) {
    browser.goto(&format!("{base}/console/"));
    let field = browser.wait_for("input#token", PAGE);
    assert!(
        browser.url().ends_with("/console/login"),
        "{}",
        browser.url()
    );
    browser.type_into(&field, token);
    let button = browser.wait_for("form button[type=submit]", PAGE);
    browser.click(&button);
    browser.wait_for("form.signout", PAGE);
}

fn sign_out(browser: &Browser) {
    let button = browser.wait_for("form.signout button", PAGE);
    browser.click(&button);
    browser.wait_for("input#token", PAGE);
}

#[ignore = "end-to-end tier: needs the real children and Chromium (scripts/install-real-children.sh, scripts/install-browser.sh); scripts/test.sh runs it"]
#[test]
fn the_console_in_a_browser_follows_a_job_finds_it_and_stops_an_instance() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let Some(browser) = Browser::start() else {
        return;
    };
    let shots: Option<PathBuf> =
        std::env::var_os("CLAUDE_COMMS_CONSOLE_SCREENSHOTS").map(PathBuf::from);
    let shots = shots.as_deref();
    let (model, _rt) = host::host_model();
    let home = host::home_for(&real, &model);
    let _guard = DaemonGuard(home.path().to_path_buf());
    let started = json_of(&cli(
        home.path(),
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    ));
    let base = started["http_url"]
        .as_str()
        .unwrap()
        .trim_end_matches("/mcp")
        .to_string();
    let token = |args: &[&str]| {
        let mut all = vec!["--json", "tokens", "create"];
        all.extend_from_slice(args);
        json_of(&cli(home.path(), &all))["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let admin = token(&["--admin"]);
    let other_module = token(&["--module", "claude_mcp"]);

    // The fleet: this machine (SQLite), live, hosting the modules.
    sign_in(&browser, &base, &admin);
    assert!(
        browser.url().ends_with("/console/fleet"),
        "{}",
        browser.url()
    );
    browser.wait_for("table#fleet tbody tr[data-state=live]", PAGE);
    let fleet = browser.page_text();
    assert!(fleet.contains("this machine only"), "{fleet}");
    assert!(
        fleet.contains("marker") && fleet.contains("arangodb"),
        "{fleet}"
    );
    browser.wait_until(
        "the fleet table refreshes itself",
        "return Number(document.querySelector('table#fleet').dataset.refreshes || 0) >= 1",
        PAGE,
    );
    browser.screenshot(shots, "fleet");

    // Jobs live: a question the model answers after 3 s shows as pending,
    // then delivered, in the same page (a reload would clear the marker).
    browser.goto(&format!("{base}/console/jobs"));
    browser.wait_for("table#jobs", PAGE);
    browser.script("window.consoleTestMarker = 'not reloaded'; return true;");
    let sent = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--background",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[stall:3000]] Which pelican index does marker use?",
        ],
    ));
    assert_eq!(sent["status"], "pending", "{sent}");
    let job = sent["message_id"].as_str().unwrap().to_string();
    let conversation = sent["conversation_id"].as_str().unwrap().to_string();
    let row = format!("table#jobs tr[data-id='{job}']");
    browser.wait_until(
        "the job appears as pending",
        &format!("const r = document.querySelector(\"{row}\"); return !!r && r.dataset.state === 'pending';"),
        PAGE,
    );
    browser.screenshot(shots, "jobs-pending");
    browser.wait_until(
        "the job turns delivered without a reload",
        &format!("const r = document.querySelector(\"{row}\"); return !!r && r.dataset.state === 'delivered';"),
        Duration::from_secs(120),
    );
    assert_eq!(
        browser.script("return window.consoleTestMarker || null;"),
        serde_json::json!("not reloaded")
    );
    let state = browser.wait_for(&format!("{row} td.state"), PAGE);
    assert_eq!(browser.text(&state), "delivered");
    browser.screenshot(shots, "jobs-delivered");

    // The graph: the pair with its count, linking to its conversations.
    browser.goto(&format!("{base}/console/graph?window=24h"));
    browser.wait_for("svg.graph a.edge[data-pair='marker->arangodb']", PAGE);
    let count = browser.wait_for("tr[data-pair='marker->arangodb'] td.count", PAGE);
    assert_eq!(browser.text(&count), "1");
    browser.screenshot(shots, "graph");
    let link = browser.wait_for("tr[data-pair='marker->arangodb'] a", PAGE);
    browser.click(&link);
    browser.wait_for(
        &format!("table.conversations tr[data-id='{conversation}']"),
        PAGE,
    );

    // Search finds it; the conversation shows the reply with its commit.
    let field = browser.wait_for("input#q", PAGE);
    browser.type_into(&field, "pelican");
    browser.click(&browser.wait_for("form.search button", PAGE));
    let hit = browser.wait_for(
        &format!("ul.hits a[href^='/console/conversations/{conversation}']"),
        PAGE,
    );
    browser.screenshot(shots, "search");
    browser.click(&hit);
    browser.wait_for("article.message[data-role=reply]", PAGE);
    let read = browser.page_text();
    assert!(
        read.contains("Which pelican index does marker use?"),
        "{read}"
    );
    assert!(
        read.contains("commit") || read.contains("outside git"),
        "{read}"
    );
    browser.screenshot(shots, "conversation");

    browser.goto(&format!("{base}/console/costs?window=24h"));
    browser.wait_for("svg.plot polyline", PAGE);
    browser.screenshot(shots, "costs");

    // Instances: the one that answered runs; the admin stops it.
    browser.goto(&format!("{base}/console/instances"));
    let stop = browser.wait_for("table.instances form[action$='/stop'] button", PAGE);
    browser.screenshot(shots, "instances");
    browser.click(&stop);
    let done = browser.wait_for("p#done", PAGE);
    let said = browser.text(&done);
    assert!(
        said.contains("now stopped"),
        "{said}: {}",
        browser.page_text()
    );
    browser.screenshot(shots, "instances-stopped");
    sign_out(&browser);

    // Another module's token: not in its list, and "not found" by id.
    sign_in(&browser, &base, &other_module);
    browser.goto(&format!("{base}/console/conversations"));
    browser.wait_for("table.conversations", PAGE);
    assert!(
        browser
            .find(&format!("tr[data-id='{conversation}']"))
            .is_none()
    );
    browser.goto(&format!("{base}/console/conversations/{conversation}"));
    let refused = browser.page_text();
    assert!(
        refused.contains(&format!(
            "no conversation \"{conversation}\" that module \"claude_mcp\" can use"
        )),
        "{refused}"
    );
    assert!(!refused.contains("pelican"), "{refused}");
    browser.goto(&format!("{base}/console/fleet"));
    assert!(browser.page_text().contains("needs an admin token"));
    browser.screenshot(shots, "module-token");
    sign_out(&browser);
    drop(browser);
}

#[ignore = "end-to-end tier: needs PostgreSQL and Chromium (scripts/install-postgres.sh, scripts/install-browser.sh); scripts/test.sh runs it"]
#[test]
fn the_console_of_one_node_shows_a_two_node_fleet_and_stops_an_instance_on_the_other() {
    let Some(cluster) = crate::pg_cluster::PgCluster::start() else {
        return;
    };
    let Some(browser) = Browser::start() else {
        return;
    };
    let shots: Option<PathBuf> =
        std::env::var_os("CLAUDE_COMMS_CONSOLE_SCREENSHOTS").map(PathBuf::from);
    let shots = shots.as_deref();
    let url = cluster.create_database("console_fleet");
    let settings = crate::fleet_nodes::NodeSettings::default();
    let a = crate::fleet_nodes::Node::new(&url, "node-a", &["marker"], &settings);
    let b = crate::fleet_nodes::Node::new(&url, "node-b", &["arangodb"], &settings);
    let addr = a.start_listening();
    b.start_ok();
    let base = format!("http://{addr}");
    let admin =
        crate::fleet_nodes::json_of(&a.cli(&["--json", "tokens", "create", "--admin"]))["token"]
            .as_str()
            .unwrap()
            .to_string();

    sign_in(&browser, &base, &admin);
    for node in ["node-a", "node-b"] {
        browser.wait_for(
            &format!("table#fleet tr[data-id='{node}'][data-state=live]"),
            PAGE,
        );
    }
    let fleet = browser.page_text();
    assert!(!fleet.contains("this machine only"), "{fleet}");
    assert!(fleet.contains("node-a (this node)"), "{fleet}");
    browser.screenshot(shots, "fleet-two-nodes");

    // A question from A to the module only B hosts: B answers, and the
    // jobs table on A's console names B.
    browser.goto(&format!("{base}/console/jobs"));
    browser.wait_for("table#jobs", PAGE);
    let sent = crate::fleet_nodes::json_of(&a.cli(&[
        "--json",
        "send",
        "--from",
        "marker",
        "--to",
        "arangodb",
        "routed to b",
    ]));
    assert_eq!(sent["status"], "delivered", "{sent}");
    let job = sent["message_id"].as_str().unwrap().to_string();
    browser.wait_until(
        "the routed job shows delivered by node-b",
        &format!(
            "const r = document.querySelector(\"table#jobs tr[data-id='{job}']\"); \
             return !!r && r.dataset.state === 'delivered' && r.textContent.includes('node-b');"
        ),
        PAGE,
    );
    browser.screenshot(shots, "jobs-routed");

    // B's instance, stopped from A's console (through the store).
    // The page shows what the store holds when it is loaded: reloaded, as
    // a user would, until node B's beat has brought its instance.
    let deadline = std::time::Instant::now() + PAGE;
    loop {
        browser.goto(&format!("{base}/console/instances"));
        if browser.find("h2").is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no instance of node-b within {PAGE:?}: {}",
            browser.page_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let headings = browser.page_text();
    assert!(headings.contains("node-b"), "{headings}");
    let stop = browser.wait_for("table.instances form[action$='/stop'] button", PAGE);
    browser.click(&stop);
    let done = browser.wait_for("p#done", PAGE);
    assert!(
        browser.text(&done).contains("now stopped"),
        "{}",
        browser.page_text()
    );
    sign_out(&browser);
    drop(browser);
}
