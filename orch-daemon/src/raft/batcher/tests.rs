use super::*;

#[tokio::test]
async fn a_batch_stops_before_its_byte_limit_and_the_rest_waits_for_the_next() {
    let (tx, rx) = mpsc::unbounded_channel::<usize>();
    for size in [4, 3, 2, 9, 1] {
        tx.send(size).unwrap();
    }
    drop(tx);
    let slots = Arc::new(Semaphore::new(1));
    let limits = BatchLimits {
        items: 10,
        bytes: 8,
    };
    let mut queue = BatchQueue::new(rx);
    let mut batches = Vec::new();
    while let Some((slot, batch)) = queue.next(&slots, limits, |n| *n).await {
        drop(slot);
        batches.push(batch);
    }
    // 4+3 fit, 2 would pass 8; 9 alone is bigger than the limit but goes alone.
    assert_eq!(batches, vec![vec![4, 3], vec![2], vec![9], vec![1]]);
}
