//! Waiting on the durable queue from a test.

use std::time::Duration;

use ferry::store::{ListFilter, State, Store};

/// Waits until the queue has nothing pending or running, and fails on any delivery that
/// failed or went to the dead letters.
pub async fn settle(store: &dyn Store) {
    for _ in 0..1500 {
        let all = store
            .list(ListFilter {
                states: vec![],
                limit: 1000,
            })
            .await
            .expect("list");
        if all
            .iter()
            .all(|r| r.state != State::Pending && r.state != State::Running)
        {
            let broken: Vec<_> = all
                .iter()
                .filter(|r| r.state != State::Done)
                .map(|r| format!("{:?} {}: {:?}", r.state, r.event_type, r.last_error))
                .collect();
            assert!(broken.is_empty(), "deliveries failed: {broken:#?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the queue did not settle");
}
