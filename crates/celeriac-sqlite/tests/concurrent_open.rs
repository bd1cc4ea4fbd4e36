//! Several openers creating the same new store at once all succeed (worker
//! processes started together on a fresh file used to lose the race to
//! switch it to WAL mode and exit with "database is locked").

use std::sync::{Arc, Barrier};

use celeriac_sqlite::{SqliteConfig, SqliteStore};

#[test]
fn openers_racing_on_a_new_file_all_succeed() {
    const OPENERS: usize = 6;
    for round in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let start = Arc::new(Barrier::new(OPENERS));
        let openers: Vec<_> = (0..OPENERS)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(SqliteConfig::new(path)).map(drop)
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}
