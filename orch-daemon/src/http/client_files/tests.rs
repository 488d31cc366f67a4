use super::*;
use futures_util::StreamExt;

#[tokio::test]
async fn a_large_file_streams_in_bounded_chunks() {
    let mut f = tempfile::tempfile().unwrap();
    let size = 5 * 1024 * 1024 + 17;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::io::Write::write_all(&mut f, &data).unwrap();
    std::io::Seek::rewind(&mut f).unwrap();
    let mut stream = Box::pin(file_stream(f, CAT_CHUNK_BYTES));
    let (mut total, mut chunks, mut largest) = (Vec::new(), 0, 0);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        largest = largest.max(chunk.len());
        chunks += 1;
        total.extend_from_slice(&chunk);
    }
    assert!(largest <= CAT_CHUNK_BYTES, "a chunk of {largest} bytes");
    assert!(chunks >= size / CAT_CHUNK_BYTES, "{chunks} chunks");
    assert_eq!(total, data);
}

#[test]
fn paths_leaving_the_allocation_are_refused() {
    for p in ["../x", "/alloc/../../etc"] {
        let q = BTreeMap::from([("path".to_string(), p.to_string())]);
        assert!(rel_path(&q).is_err(), "{p}");
    }
    let q = BTreeMap::from([("path".to_string(), "/alloc/data/x".to_string())]);
    assert_eq!(rel_path(&q).unwrap().1, PathBuf::from("alloc/data/x"));
}
