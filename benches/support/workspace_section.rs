//! Issue 21's figure: the time a message spends reading its module folder's
//! git state (`cargo bench -- workspace`). A message reads it twice (before
//! rendering the prompt, after the answer), each on the blocking pool as
//! the hub does; the git processes run only when the repository changed
//! or the cache's 2 s are up, which the uncached figure shows.

use super::*;

use common::git;

use claude_comms::workspace::FolderStates;

pub async fn workspace_section() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    let src = repo.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for i in 0..200 {
        std::fs::write(
            src.join(format!("f{i}.rs")),
            format!("pub fn f{i}() {{}}\n"),
        )
        .unwrap();
    }
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "seed"]);
    let states = Arc::new(FolderStates::new());
    let folder = repo.path().to_path_buf();

    let uncached: Vec<Duration> = (0..30)
        .map(|_| {
            let started = Instant::now();
            let state = states.read_fresh(&folder);
            assert_eq!(state.dirty, Some(false));
            started.elapsed()
        })
        .collect();
    let uncached = stats(uncached);

    let mut samples = Vec::with_capacity(5000);
    for _ in 0..5000 {
        let started = Instant::now();
        for _ in 0..2 {
            let (states, folder) = (states.clone(), folder.clone());
            let state = tokio::task::spawn_blocking(move || states.read(&folder))
                .await
                .unwrap();
            assert!(state.commit.is_some());
        }
        samples.push(started.elapsed());
    }
    let added = stats(samples);
    figure(
        "workspace: folder state per message (2 cached reads), p50 / p99",
        format!("{} / {}", ms(added.median), ms(added.p99)),
        "p50 <= 0.2 ms",
        Some(added.median <= Duration::from_micros(200)),
    );
    figure(
        "workspace: one uncached read (git rev-parse + status, 200 files), median",
        ms(uncached.median),
        "-",
        None,
    );
}
